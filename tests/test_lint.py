"""Lint is part of `make test`: ruff (pinned in requirements.txt, configured in ruff.toml) over the repository."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, require_tool


def _ruff() -> str:
    # The .venv's ruff (requirements.txt) first, else one on PATH.
    beside = Path(sys.executable).with_name("ruff")
    if beside.exists():
        return str(beside)
    require_tool("ruff")
    return shutil.which("ruff")


def test_ruff_finds_nothing():
    result = subprocess.run([_ruff(), "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
