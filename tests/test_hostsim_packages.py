"""The node's package and agent steps (components/scripts/*.sh) on the fake host (tests/hostsim), each branch
both ways: cluster-packages, bluemind-packages, cluster-agents. (The other steps: the other test_hostsim_* files;
verify.sh: tests/test_verify_script.py.)"""
from __future__ import annotations

import pytest

from components.agents import ALERT_AGENT_PATH, SERVICE_AGENT_PATH, alert_agent_source
from components.names import HELD_PACKAGES
from components.render import node_scripts, update
from components.render.cib import render_cib
from tests.hostsim import Host, Reply
from tests.stacks import settings_of

PROD = settings_of("prod")
NODE = PROD.nodes[0]


# --- cluster-packages.sh ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("rendered", [False, True])
def test_cluster_packages_stop_a_cluster_only_before_ours_is_configured(tmp_path, rendered):
    files = {"/etc/corosync/corosync.conf": "# rendered by bluemind-ha\n"} if rendered else {}
    run = Host(tmp_path, {"uname": [("-n", Reply(NODE.name + "\n"))]}, files=files).run(
        node_scripts.cluster_packages(PROD, NODE))
    assert run.returncode == 0, run.output
    # Missing packages only, never an upgrade (an upgraded corosync's postinst restarts the cluster); held.
    assert run.lines("apt-get") == ["apt-get update -qq", "apt-get install -y -qq --no-install-recommends --no-upgrade "
                                    + " ".join(node_scripts.CLUSTER_PACKAGES)]
    assert run.lines("apt-mark") == ["apt-mark hold " + " ".join(HELD_PACKAGES)]
    stop = "systemctl stop pacemaker.service corosync.service"
    assert run.lines("systemctl") == ["systemctl disable --quiet corosync.service pacemaker.service",
                                      *([] if rendered else [stop]), "systemctl enable --now iscsid.service"]
    assert run.lines("hostnamectl") == [], "a host already named right is not renamed"


def test_cluster_packages_refuse_a_host_of_another_name_before_anything_changes(tmp_path):
    run = Host(tmp_path, {"uname": [("-n", Reply("vm\n"))]}).run(node_scripts.cluster_packages(PROD, NODE))
    assert run.returncode == 1 and "REFUSED: this host is named 'vm'" in run.stderr
    assert run.lines("apt-get") == run.lines("hostnamectl") == run.lines("systemctl") == []


# --- bluemind-packages.sh --------------------------------------------------------------------------------------

UNITS = [f"{u}.service" for u in update.active_only_units(PROD.bluemind.major)]


def test_bluemind_first_install_blocks_service_starts_and_disables_every_unit(tmp_path):
    seen = Reply(run='cat /usr/sbin/policy-rc.d >> "$HOSTSIM_STUBS/../policy-seen" 2>/dev/null || true')
    run = Host(tmp_path, {"dpkg-query": [("*", Reply(rc=1))], "apt-get": [("*", seen)]}).run(
        node_scripts.bluemind_packages(PROD, NODE), stdin=update.first_install_pin(PROD))
    assert run.returncode == 0, run.output
    assert run.lines("apt-get") == ["apt-get update -qq", "apt-get install -y -qq bluemind-full"]
    assert (tmp_path / "hostsim/policy-seen").read_text().count("exit 101") == 2
    assert "/usr/sbin/policy-rc.d" not in run.files
    pin = run.files["/etc/apt/preferences.d/bluemind-ha"]
    assert (pin.text, pin.mode) == (update.first_install_pin(PROD), 0o644)
    assert run.lines("systemctl") == [line for u in UNITS
                                      for line in (f"systemctl disable --quiet {u}", f"systemctl stop {u}")]


def test_bluemind_installed_is_left_to_the_update_chain(tmp_path):
    run = Host(tmp_path, {"dpkg-query": [("*Status*", Reply("install ok installed")), ("*", Reply("5.3.2-1"))]}).run(
        node_scripts.bluemind_packages(PROD, NODE), stdin=update.first_install_pin(PROD))
    assert run.returncode == 0, run.output
    assert run.lines("apt-get") == [] and run.files == {}
    assert run.lines("systemctl") == [f"systemctl disable --quiet {u}" for u in UNITS]


def test_bluemind_install_refuses_a_foreign_policy_rc(tmp_path):
    run = Host(tmp_path, {"dpkg-query": [("*", Reply(rc=1))]},
               files={"/usr/sbin/policy-rc.d": ("#!/bin/sh\nexit 0\n", 0o755)}).run(
        node_scripts.bluemind_packages(PROD, NODE), stdin=update.first_install_pin(PROD))
    assert run.returncode == 1 and "is not bluemind-ha's" in run.stderr
    assert run.lines("apt-get") == []


# --- cluster-agents.sh -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["prod", "dev"])  # with and without alerts
def test_cluster_agents(tmp_path, stack):
    s = settings_of(stack)
    run = Host(tmp_path).run(node_scripts.cluster_agents(s, s.nodes[0]), stdin="#!/bin/sh\n# agent\n")
    assert run.returncode == 0, run.output
    agent = run.files[SERVICE_AGENT_PATH]
    assert (agent.text, agent.mode) == ("#!/bin/sh\n# agent\n", 0o755)
    if s.cluster.alert_recipient:
        alert = run.files[ALERT_AGENT_PATH]
        assert alert.mode == 0o755 and alert.text == alert_agent_source()
    else:
        assert ALERT_AGENT_PATH not in run.files


@pytest.mark.parametrize("stack", ["prod", "dev"])  # BlueMind 5 and 4: other systemd: members
def test_the_cibs_op_timeouts_are_the_systemd_members_own(tmp_path, stack):
    """Pacemaker's systemd class sets no TimeoutStartSec: each systemd: resource of the CIB gets a drop-in with
    its start op's timeout, and a stop timeout that ends inside its stop op's (before a fence)."""
    import xml.etree.ElementTree as ET

    s = settings_of(stack)
    run = Host(tmp_path).run(node_scripts.cluster_agents(s, s.nodes[0]), stdin="#!/bin/sh\n")
    assert run.returncode == 0, run.output
    members = ET.fromstring(render_cib(s)).findall(".//group/primitive[@class='systemd']")
    assert len(members) >= 2
    for prim in members:
        ops = {op.get("name"): int(op.get("timeout").rstrip("s")) for op in prim.iter("op")}
        dropin = run.files[f"/etc/systemd/system/{prim.get('type')}.service.d/50-bluemind-ha-timeouts.conf"]
        values = dict(line.split("=", 1) for line in dropin.text.splitlines() if "=" in line)
        assert int(values["TimeoutStartSec"]) == ops["start"], prim.get("id")
        assert 0 < int(values["TimeoutStopSec"]) <= ops["stop"] - 5, prim.get("id")
    assert "systemctl daemon-reload" in run.lines("systemctl")
