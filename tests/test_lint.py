"""Lint is part of `make test`: ruff (pinned in requirements.txt, configured in ruff.toml) over the repository."""
from __future__ import annotations

import ast
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


MAX_LINES = 400


def _source_files() -> list[Path]:
    """Every tracked Python or shell file, and every tracked script (a `#!` first line: the OCF agents, tools/)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True,
                            timeout=60).stdout.split("\0")
    files = [ROOT / name for name in listed if name and (ROOT / name).is_file()]
    return [f for f in files if f.suffix in (".py", ".sh") or f.read_bytes()[:2] == b"#!"]


def test_no_source_file_is_over_400_lines():
    """Small modules, one concern each: a file that grows past this is split by concern."""
    require_tool("git")
    sources = _source_files()
    assert any(f.name == "service" for f in sources), "the OCF agents are counted"
    too_long = {str(f.relative_to(ROOT)): n for f in sources if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert too_long == {}


def _replace_on_dataclasses(tree: ast.AST) -> list[int]:
    """Lines that call dataclasses.replace or import it by name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "replace" and \
                isinstance(node.value, ast.Name) and node.value.id == "dataclasses":
            found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "dataclasses" and \
                any(alias.name == "replace" for alias in node.names):
            found.append(node.lineno)
    return found


def test_no_test_builds_a_variant_with_dataclasses_replace():
    """A variant built by dataclasses.replace on parsed settings skips validation (it may be a stack nobody can
    write): tests/stacks.py's settings_with changes the stack file's config and parses it like any stack."""
    found = {str(f.relative_to(ROOT)): lines for f in sorted((ROOT / "tests").rglob("*.py"))
             if (lines := _replace_on_dataclasses(ast.parse(f.read_text())))}
    assert found == {}


def test_the_replace_check_bites():
    assert _replace_on_dataclasses(ast.parse("import dataclasses\nx = dataclasses.replace(s, a=1)\n")) == [2]
    assert _replace_on_dataclasses(ast.parse("from dataclasses import dataclass, replace\n")) == [1]
    assert _replace_on_dataclasses(ast.parse('"dataclasses.replace"\nx = t.replace("a", "b")\n')) == []
