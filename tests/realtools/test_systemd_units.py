"""What the cluster-agents step asks of systemd on each node, run for real as root in the sandbox, and the
units it writes checked by systemd's own `systemd-analyze verify` against this machine's units (Debian's
pacemaker, open-iscsi, systemd):

- boot and shutdown order (issue 14 item 4): a resource-agents-deps.target drop-in that Requires= and comes
  After= iscsid, open-iscsi and network-online; pacemaker.service comes After= that target, so on a
  reboot it stops BlueMind before the iSCSI sessions are logged out and the network goes down;
- HandlePowerKey=ignore in a logind drop-in, and bluemind.target masked (issue 14 item 9).
"""
from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import pytest

from components.agents import service_agent_source
from components.names import BLUEMIND_TARGET, LOGIND_DROPIN, RESOURCE_AGENTS_DEPS_DROPIN
from components.render.node_scripts import BOOT_ORDER_UNITS, cluster_agents, resource_agents_deps_dropin
from tests.conftest import require_root, require_tool
from tests.realtools.sandbox import Sandbox
from tools.stackfile import load_settings

# systemctl: logs its calls; `mask` is remembered, and `is-enabled` answers "masked" from then on.
SYSTEMCTL = '''#!/bin/bash
echo "systemctl $*" >> "$CALLS"
case "$1" in
  mask) touch "$CALLS.masked" ;;
  is-enabled) [ -e "$CALLS.masked" ] && echo masked ;;
esac
exit 0
'''
OVERLAID = ("/etc", "/usr", "/var", "/run")


class Host:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.calls = tmp / "calls"
        self.bin = tmp / "bin"
        self.bin.mkdir()
        (self.bin / "systemctl").write_text(SYSTEMCTL)
        (self.bin / "systemctl").chmod(0o755)
        self.sandbox = Sandbox(overlays={p: tmp / p.strip("/") for p in OVERLAID})

    def run(self, script: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess:
        return self.sandbox.run(f"export CALLS={self.calls} PATH={self.bin}:$PATH\n{script}", stdin, check=check)

    def written(self, path: str) -> Path:
        return self.tmp / path.strip("/")

    def logged(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def host(tmp_path):
    require_root()
    require_tool("unshare")
    return Host(tmp_path)


def _script(s=None) -> str:
    s = s or load_settings("dev")
    return cluster_agents(s, s.nodes[0])


def test_the_step_installs_the_drop_ins_masks_bluemind_target_and_a_rerun_changes_nothing(host):
    host.run(_script(), stdin=service_agent_source())
    calls = host.logged()
    assert "systemctl daemon-reload" in calls
    assert "systemctl try-restart systemd-logind.service" in calls
    assert f"systemctl mask {BLUEMIND_TARGET}" in calls
    deps = host.written(RESOURCE_AGENTS_DEPS_DROPIN).read_text()
    assert deps == resource_agents_deps_dropin()
    logind = configparser.ConfigParser()
    logind.read_string(host.written(LOGIND_DROPIN).read_text())
    assert logind["Login"]["HandlePowerKey"] == "ignore"

    host.calls.unlink()
    host.run(_script(), stdin=service_agent_source())
    again = host.logged()
    assert not [c for c in again if c.split()[1] in ("daemon-reload", "try-restart", "restart", "mask")], again


def test_the_drop_in_requires_and_follows_the_iscsi_sessions_and_the_network():
    unit = configparser.ConfigParser()
    unit.read_string(resource_agents_deps_dropin())
    for key in ("Requires", "After"):
        assert unit["Unit"][key].split() == list(BOOT_ORDER_UNITS)
    assert set(BOOT_ORDER_UNITS) == {"iscsid.service", "open-iscsi.service", "network-online.target"}


def _verify(tmp_path: Path, dropin: str, *units: str) -> subprocess.CompletedProcess:
    """`systemd-analyze verify UNITS` with `dropin` installed in an overlay of this machine's /etc."""
    require_root()
    require_tool("unshare", "systemd-analyze")
    upper = tmp_path / "etc"
    path = upper / RESOURCE_AGENTS_DEPS_DROPIN.removeprefix("/etc/")
    path.parent.mkdir(parents=True)
    path.write_text(dropin)
    return Sandbox(overlays={"/etc": upper}).run(f"systemd-analyze verify {' '.join(units)} 2>&1", check=False)


def test_systemd_analyze_verifies_the_ordered_units(tmp_path):
    """The target and pacemaker.service, with the drop-in, load and can be started: every unit it requires
    exists here (Debian's open-iscsi and iscsid), no unknown key, no ordering cycle."""
    for unit in ("/lib/systemd/system/pacemaker.service", "/lib/systemd/system/open-iscsi.service"):
        if not Path(unit).exists():
            pytest.skip(f"{unit} is not installed here")
    result = _verify(tmp_path, resource_agents_deps_dropin(), "resource-agents-deps.target", "pacemaker.service")
    assert (result.returncode, result.stdout) == (0, ""), result.stdout


def test_systemd_analyze_verify_bites(tmp_path):
    """A required unit that does not exist fails the same check."""
    if not Path("/lib/systemd/system/pacemaker.service").exists():
        pytest.skip("pacemaker is not installed here")
    result = _verify(tmp_path, resource_agents_deps_dropin().replace("open-iscsi.service", "open-iscsy.service"),
                     "resource-agents-deps.target")
    assert result.returncode != 0 and "open-iscsy.service" in result.stdout
