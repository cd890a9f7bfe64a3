"""A re-run never restarts the cluster stack (issue 15 item 1), run for real as root in the sandbox with a
stand-in apt (tests/realtools/apt_stand_in.py) whose repository offers a newer corosync and pacemaker: Debian's
postinst of an upgraded corosync restarts corosync and pacemaker, so neither the cluster-packages step nor
the update chain may ever upgrade them. Missing packages are installed with --no-upgrade, the cluster stack
is held, and the update chain upgrades BlueMind's packages only."""
from __future__ import annotations

import pytest

from components.names import HELD_PACKAGES
from components.render.corosync import render_corosync
from components.render.node_scripts import CLUSTER_PACKAGES, cluster_packages
from components.render.update import package_update_script
from tests.conftest import require_root, require_tool
from tests.realtools import apt_stand_in
from tests.realtools.stand_in_host import Node
from tools.stackfile import load_settings

INSTALLED_STACK = {**dict.fromkeys(CLUSTER_PACKAGES, "1.0-1"), "corosync": "3.1.7-1", "pacemaker": "2.1.5-1"}
NEWER_STACK = {**INSTALLED_STACK, "corosync": "3.1.8-1", "pacemaker": "2.1.6-1"}


class AptNode(Node):
    def __init__(self, tmp_path, installed: dict[str, str], available: dict[str, str]):
        # Named as the dev stack's first node: the package step refuses a host of another name.
        super().__init__(tmp_path, hostname=load_settings("dev").nodes[0].name)
        for name, body in apt_stand_in.STAND_INS.items():
            (self.bin / name).write_text(f"#!/bin/bash\n{body}\n")
            (self.bin / name).chmod(0o755)
        self.db = apt_stand_in.apt_database(tmp_path / "apt-db", installed, available)

    def run(self, script: str, **kwargs):
        return super().run(script, env=f"APT_DB={self.db} {kwargs.pop('env', '')}", **kwargs)

    def version(self, package: str) -> str | None:
        path = self.db / "installed" / package
        return path.read_text().strip() if path.exists() else None

    def held(self) -> set[str]:
        return {p.name for p in (self.db / "held").iterdir()}


def _stub(node: AptNode, name: str, body: str) -> None:
    (node.bin / name).write_text(f"#!/bin/bash\necho \"{name} $*\" >> \"$CALLS\"\n{body}\n")
    (node.bin / name).chmod(0o755)


@pytest.fixture
def sandbox_ready():
    require_root()
    require_tool("unshare")


def _live_cluster_node(tmp_path) -> tuple:
    """A node of a live cluster (its corosync.conf is ours) whose repository offers a newer cluster stack."""
    s = load_settings("dev")
    node = AptNode(tmp_path, INSTALLED_STACK, NEWER_STACK)
    conf = node.written("/etc/corosync/corosync.conf")
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(render_corosync(s))
    return s, node


def test_a_rerun_of_the_package_step_upgrades_and_restarts_nothing(sandbox_ready, tmp_path):
    s, node = _live_cluster_node(tmp_path)
    node.run(cluster_packages(s, s.nodes[0]))
    calls = node.logged()
    installs = [c for c in calls if c.startswith("apt-get install")]
    assert installs and all("--no-upgrade" in c for c in installs), installs
    assert not [c for c in calls if c.startswith("upgraded ")], calls
    assert (node.version("corosync"), node.version("pacemaker")) == ("3.1.7-1", "2.1.5-1")
    assert not [c for c in calls if c.startswith(("systemctl restart", "systemctl stop"))], calls
    assert {"corosync", "pacemaker"} <= set(HELD_PACKAGES) and node.held() == set(HELD_PACKAGES)

    # Held: a later `apt-get upgrade` (an admin's, unattended-upgrades) keeps the cluster stack too.
    node.calls.unlink()
    node.run("apt-get -y upgrade")
    assert (node.version("corosync"), node.version("pacemaker")) == ("3.1.7-1", "2.1.5-1")
    assert not [c for c in node.logged() if c.startswith(("upgraded corosync", "systemctl restart"))]


def test_the_stand_in_apt_restarts_the_stack_when_corosync_is_upgraded(sandbox_ready, tmp_path):
    """The proof bites: the install the package step used to run upgrades corosync and restarts the stack."""
    _, node = _live_cluster_node(tmp_path)
    node.run("apt-get install -y -qq --no-install-recommends " + " ".join(CLUSTER_PACKAGES))
    calls = node.logged()
    assert "upgraded corosync 3.1.7-1 -> 3.1.8-1" in calls
    assert "systemctl restart corosync.service pacemaker.service" in calls


def test_a_fresh_node_gets_every_package_installed_and_the_stack_held(sandbox_ready, tmp_path):
    s = load_settings("dev")
    node = AptNode(tmp_path, {}, NEWER_STACK)
    node.run(cluster_packages(s, s.nodes[0]))
    assert {p: node.version(p) for p in CLUSTER_PACKAGES} == {p: NEWER_STACK[p] for p in CLUSTER_PACKAGES}
    assert node.held() == set(HELD_PACKAGES)


def test_the_update_chain_upgrades_bluemind_only_and_keeps_the_stack_held(sandbox_ready, tmp_path):
    s = load_settings("dev")
    new, old = s.bluemind.version, "5.0.0-1"
    bluemind = {"bluemind-full": old, "bm-core": old, "bm-webserver": old}
    node = AptNode(tmp_path, {**INSTALLED_STACK, **bluemind, "postgresql": "15.1-1"},
                   {**NEWER_STACK, **dict.fromkeys(bluemind, new + "-1"), "postgresql": "15.2-1"})
    _stub(node, "crm_attribute", "echo 'another release'")  # the cluster's recorded release
    _stub(node, "crm_resource", f'case "$*" in *"--get-parameter maintenance"*) echo true ;; '
                                f'*) echo {s.network.vip} ;; esac')
    _stub(node, "ip", f"echo '2: ens3    inet {s.network.vip}/24 scope global ens3'")  # the VIP is here
    node.run(package_update_script(s, s.nodes[0]))
    calls = node.logged()
    assert not [c for c in calls if "dist-upgrade" in c or c.startswith("apt-get -y upgrade")], calls
    upgraded = sorted(c.split()[1] for c in calls if c.startswith("upgraded "))
    assert upgraded == sorted(bluemind), calls
    assert (node.version("corosync"), node.version("pacemaker"), node.version("postgresql")) == \
        ("3.1.7-1", "2.1.5-1", "15.1-1")
    assert not [c for c in calls if c.startswith("systemctl restart")], calls
    assert set(HELD_PACKAGES) <= node.held()
    # bluemind.target is unmasked for BlueMind's package scripts only, and masked again at the end.
    install = next(i for i, c in enumerate(calls) if c.startswith("apt-get install"))
    unmask = calls.index("systemctl unmask --quiet bluemind.target")
    assert unmask < install < calls.index("systemctl mask --quiet bluemind.target")


def test_the_old_update_chain_would_have_upgraded_corosync(sandbox_ready, tmp_path):
    """The proof bites: a dist-upgrade, as the update chain ran before, upgrades and restarts the stack."""
    node = AptNode(tmp_path, INSTALLED_STACK, NEWER_STACK)
    node.run("apt-get -y dist-upgrade")
    assert "upgraded corosync 3.1.7-1 -> 3.1.8-1" in node.logged()


