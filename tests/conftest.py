"""Shared test fixtures. Real-tool tests call `require_tool`: a missing tool skips locally but fails under CI."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(*names: str) -> None:
    """Fail (under CI) or skip (elsewhere) unless every named executable is on PATH."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        message = f"real tool(s) not installed: {', '.join(missing)} (run `make deps` as root)"
        if UNDER_CI:
            pytest.fail(message)
        pytest.skip(message)


def require_root() -> None:
    if os.geteuid() != 0:
        message = "needs root (network namespaces, daemons on privileged ports)"
        if UNDER_CI:
            pytest.fail(message)
        pytest.skip(message)
