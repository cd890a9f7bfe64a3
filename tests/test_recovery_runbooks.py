"""The runbooks for a node out of the cluster (components/render/recovery.py), stack outputs `rejoin`,
`cold_start` and `rebuild`: the rejoin script on the fake host (both ways), the cold start against the
rendered corosync.conf's quorum, the rebuild's commands against the program's own URNs and the Makefile,
and the README's outputs table against every output."""
from __future__ import annotations

import re
import subprocess

import pytest

from components.deployment import stack_outputs
from components.render.corosync import render_corosync
from components.render.recovery import cold_start_runbook, lab_root_volume_urn, rebuild_runbook, rejoin_runbook
from tests.conftest import ROOT, require_tool
from tests.hostsim import Host, Reply
from tests.stacks import settings_of, settings_with
from tools import plan
from tools.stackfile import read_stack_config

PROD, DEV = settings_of("prod"), settings_of("dev")
ONLINE = '<crm_mon><nodes><node name="{name}" id="2" online="true" standby="false"/></nodes></crm_mon>\n'


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_the_runbooks_are_stack_outputs(stack):
    s = settings_of(stack)
    outputs = stack_outputs(s)
    assert (outputs["rejoin"], outputs["cold_start"], outputs["rebuild"]) == (
        rejoin_runbook(s), cold_start_runbook(s), rebuild_runbook(s))


def test_every_stack_output_is_in_the_readmes_outputs_table():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### 6. Stack outputs"):readme.index("## The safety rules")]
    listed = set(re.findall(r"`([a-z_]+)`", table))
    for stack in ("dev", "prod"):
        assert set(stack_outputs(settings_of(stack))) - listed == set()


def test_the_rejoin_script_shellchecks():
    require_tool("shellcheck")
    result = subprocess.run(["shellcheck", "-s", "bash", "-"], input=rejoin_runbook(PROD), text=True,
                            capture_output=True)
    assert result.returncode == 0, result.stdout


def _rejoin(tmp_path, mounted: bool):
    node = PROD.nodes[1]
    stubs = {"uname": [("-n", Reply(node.name + "\n"))], "systemctl": [("is-active *", Reply(rc=3))],
             "crm_mon": [("*xml*", Reply(ONLINE.format(name=node.name)))],
             "findmnt": [("*/var/lib/postgresql*", Reply(rc=0 if mounted else 1))] + [("*", Reply(rc=1))]}
    return node, Host(tmp_path, stubs).run(rejoin_runbook(PROD))


def test_a_fenced_node_rejoins_and_its_old_failures_are_cleared(tmp_path):
    node, run = _rejoin(tmp_path, mounted=False)
    assert run.returncode == 0, run.output
    assert "systemctl start corosync.service pacemaker.service" in run.lines("systemctl")
    assert run.lines("crm_resource") == [f"crm_resource --cleanup --resource bluemind --node {node.name}"]
    assert f"{node.name} is back" in run.stdout


def test_a_node_with_a_shared_directory_mounted_does_not_rejoin(tmp_path):
    _, run = _rejoin(tmp_path, mounted=True)
    assert run.returncode == 1 and "/var/lib/postgresql is mounted" in run.stderr
    assert not run.called("systemctl start *") and not run.lines("crm_resource")


def test_a_cold_start_alone_lifts_two_nodes_wait_for_all_then_leaves_fencing_to_pacemaker():
    conf, text = render_corosync(PROD), cold_start_runbook(PROD)
    assert "two_node: 1" in conf and "wait_for_all: 0" not in conf
    for working, broken in ((PROD.nodes[0], PROD.nodes[1]), (PROD.nodes[1], PROD.nodes[0])):
        section = text[text.index(f"## {broken.name} cannot start; run on {working.name}"):]
        commands = [line for line in section.splitlines() if line and not line.startswith("#")]
        assert commands[:4] == [
            f"ipmitool -I lanplus -C 3 -H {broken.bmc.address} -p 623 -U fence -f "
            f"/etc/bluemind-ha/bmc/{broken.name}.password chassis power status",
            "systemctl start corosync.service pacemaker.service", "corosync-quorumtool -e 1", "crm_mon -1"]
        # Confirming a node by hand stays a commented choice: only after seeing it off, if fencing cannot.
        assert f"#    stonith_admin --confirm {broken.name}" in section
        assert f"\nstonith_admin --confirm {broken.name}" not in section


def test_a_cold_start_without_fencing_gives_the_lone_node_quorum_and_starts_the_group():
    manual = settings_with("prod", failover="manual")
    assert "two_node" not in render_corosync(manual)
    text = cold_start_runbook(manual)
    commands = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert "stonith_admin" not in text
    assert commands[1:4] == ["systemctl start corosync.service pacemaker.service", "corosync-quorumtool -e 1",
                             "crm_resource --cleanup --resource bluemind"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_rebuild_runbook_names_the_stacks_own_commands(stack):
    s = settings_of(stack)
    text = rebuild_runbook(s)
    assert re.findall(r"^make diff STACK=(\S+) BASE=HEAD$", text, re.M) == [stack, stack]
    assert "\ndiff:" in (ROOT / "Makefile").read_text()
    for i in range(len(s.nodes)):
        assert f"raise nodes[{i}].generation by one (now 0):\n#      generation: 1\n" in text
    if s.host_kind == "libvirt":
        config, secrets = read_stack_config(stack)
        urns = {d.urn for d in plan.run_program(stack, config, secrets).declared}
        for node in s.nodes:
            assert lab_root_volume_urn(s, node) in urns
            assert f"pulumi up --replace '{lab_root_volume_urn(s, node)}'" in text
    else:
        assert all(f"ssh-keyscan -t ed25519 {n.ip}" in text for n in s.nodes) and "--replace" not in text
