"""The plan is a pure function of the code and the stack file: two renders in separate processes, with
different hash seeds (set and dict iteration order), give byte-identical build trees. Otherwise `make diff`
would report noise as changes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_two_renders_with_different_hash_seeds_are_byte_identical(stack, tmp_path):
    runs = []
    for seed in ("1", "4242"):
        out = tmp_path / f"seed-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        runs.append((out, subprocess.Popen([sys.executable, "-m", "tools.plan", stack, str(out)], cwd=ROOT, env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
    for _, process in runs:
        assert process.wait() == 0, process.stderr.read()
    first, second = (_tree(out) for out, _ in runs)
    assert {"resources.json", "cluster/cib.xml", "cluster/corosync.conf", "topology.svg"} <= first.keys()
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
