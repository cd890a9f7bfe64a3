"""`make plan` runs on an admin's workstation: it installs only what the plan runs, and no daemon."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from tests.conftest import ROOT, require_tool

DAEMON_PACKAGES = {"postgresql", "tgt", "openssh-server", "corosync", "pacemaker", "lsyncd", "open-iscsi",
                   "openipmi", "corosync-qnetd", "corosync-qdevice"}


def _profile(name: str) -> tuple[set[str], list[str]]:
    text = (ROOT / "tools" / "install-deps").read_text()
    body = re.search(rf"^  {name}\)\n(.*?);;", text, re.S | re.M).group(1)
    packages = re.search(r"packages=\(([^)]*)\)", body).group(1).split()
    tools = re.search(r"tools=\(([^)]*)\)", body).group(1).split()
    return set(packages), tools


def test_the_plan_profile_installs_no_daemon():
    packages, _ = _profile("plan")
    assert packages and not packages & DAEMON_PACKAGES


def test_the_plan_runs_with_only_the_plan_profiles_tools_on_path(tmp_path):
    _, tools = _profile("plan")
    require_tool(*tools)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        os.symlink(shutil.which(tool), bin_dir / tool)
    env = {**os.environ, "PATH": str(bin_dir)}
    result = subprocess.run([sys.executable, "-m", "tools.plan", "prod", str(tmp_path / "plan")], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "plan" / "failover.md").read_text().count("crm_simulate") >= 1
    assert (tmp_path / "plan" / "topology.svg").is_file()
