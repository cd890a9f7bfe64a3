"""Every day-2 script and the OCF agent pass shellcheck; the cluster check reads real pacemaker tools' output."""
from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from components.agents import SERVICE_AGENT_SOURCE
from components.names import GROUP_ID
from components.render import update
from components.render.cib import render_cib
from components.render.cib_nvsets import META, PROPERTIES, nvpair_value
from components.render.runbooks import manual_takeover_runbook, os_upgrade_runbook, switchover_commands
from tests.conftest import require_tool
from tests.stacks import settings_with
from tools.stackfile import load_settings

STACKS = ("dev", "prod", "lab")


def _scripts(stack: str):
    s = load_settings(stack)
    manual = settings_with(stack, failover="manual")
    yield "maintenance_on", update.maintenance_on_script(s)
    for node in s.nodes:
        yield f"package_update-{node.name}", update.package_update_script(s, node)
        yield f"post_install-{node.name}", update.post_install_script(s, node)
    yield "maintenance_off", update.maintenance_off_script(s)
    yield "cluster_check", update.cluster_check_script(s)
    yield "switchover", switchover_commands(s)
    yield "takeover-fenced", manual_takeover_runbook(s)
    yield "takeover-manual", manual_takeover_runbook(manual)
    yield "os-upgrade", os_upgrade_runbook(s)


@pytest.mark.parametrize("stack", STACKS)
def test_day2_scripts_pass_shellcheck(stack, tmp_path):
    require_tool("shellcheck")
    for name, text in _scripts(stack):
        path = tmp_path / f"{name}.sh"
        path.write_text(text)
        result = subprocess.run(["shellcheck", "--shell=bash", str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{stack} {name}:\n{result.stdout}"


def test_service_agent_passes_shellcheck():
    require_tool("shellcheck")
    result = subprocess.run(["shellcheck", str(SERVICE_AGENT_SOURCE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def _simulated_cluster(tmp_path, stack: str):
    """The rendered CIB after pacemaker's own scheduler started it on both nodes (crm_simulate), the
    environment that points pacemaker's tools at it (CIB_file), and a runner of step scripts against it."""
    s = load_settings(stack)
    cib = tmp_path / "cib.xml"
    cib.write_text(render_cib(s).replace("<cib ", '<cib have-quorum="1" ', 1))
    started = tmp_path / "started.xml"
    nodes = [arg for n in s.nodes for arg in ("-u", n.name)]
    subprocess.run(["crm_simulate", "-x", str(cib), *nodes, "-S", "-O", str(started)], check=True,
                   capture_output=True, timeout=60)
    env = {**os.environ, "CIB_file": str(started)}

    def run(text: str) -> subprocess.CompletedProcess:
        path = tmp_path / "step.sh"
        path.write_text(text)
        return subprocess.run(["bash", str(path)], env=env, capture_output=True, text=True, timeout=120)
    return s, started, env, run


@pytest.mark.parametrize("stack", STACKS)
def test_the_update_chain_runs_only_for_a_new_release_and_completes_only_on_a_healthy_cluster(stack, tmp_path):
    """Against the CIB of a started cluster (pacemaker's tools read and write it through CIB_file): the
    chain's first creation records the stack's release; steps that run again for that release do nothing;
    a new release puts the group (never the cluster) in maintenance, and its last step records it only once
    neither is in maintenance and the cluster is healthy."""
    require_tool("crm_simulate", "crm_mon", "crm_resource", "crm_attribute", "cibadmin")
    s, cib_file, env, run = _simulated_cluster(tmp_path, stack)

    def cluster_release() -> str:
        return subprocess.run(update.RELEASE_QUERY.split() + ["--query", "--quiet"], env=env, capture_output=True,
                              text=True, timeout=30).stdout.strip()

    assert run(update.chain_armed_script(s)).returncode == 0
    assert cluster_release() == update.release_id(s)
    before = cib_file.read_text()
    for again in (update.maintenance_on_script(s), update.post_install_script(s, s.nodes[0]),
                  update.maintenance_off_script(s), update.cluster_check_script(s)):
        result = run(again)
        assert result.returncode == 0 and "nothing to do" in result.stdout, result.stderr
    assert cib_file.read_text() == before, "an unchanged release must not touch the cluster"

    newer = settings_with(stack, bluemind={"version": s.bluemind.version + ".1"})
    opened = run(update.maintenance_on_script(newer))
    assert opened.returncode == 0 and "Fencing stays armed" in opened.stdout, opened.stderr
    # The update window is the group's maintenance, never the cluster's (which would disarm fencing).
    assert _meta(cib_file, "bluemind", "maintenance") == "true"
    assert _property(cib_file, "maintenance-mode") is None
    in_maintenance = run(update.cluster_check_script(newer))
    assert in_maintenance.returncode == 1 and "is in maintenance" in in_maintenance.stderr
    assert cluster_release() == update.release_id(s), "an update that has not completed is not recorded"

    # Step 4 waits for a live cluster to settle, which a CIB file cannot: close the window as it does.
    subprocess.run(update.GROUP_MAINTENANCE_OFF.split(), env=env, check=True, capture_output=True, timeout=30)
    completed = run(update.cluster_check_script(newer))
    assert completed.returncode == 0 and "runs complete on" in completed.stdout, completed.stderr
    assert cluster_release() == update.release_id(newer)

    # An admin's cluster-wide maintenance-mode fails the check too: nothing would be fenced.
    subprocess.run(["crm_attribute", "--type", "crm_config", "--name", "maintenance-mode", "--update", "true"],
                   env=env, check=True, capture_output=True, timeout=30)
    newest = settings_with(stack, bluemind={"version": s.bluemind.version + ".2"})
    frozen = run(update.cluster_check_script(newest))
    assert frozen.returncode == 1 and "nothing is fenced" in frozen.stderr


def _meta(cib_file, rsc: str, name: str) -> str | None:
    return nvpair_value(ET.parse(cib_file).getroot().find(f".//resources//*[@id='{rsc}']"), META, name)


def _property(cib_file, name: str) -> str | None:
    return nvpair_value(ET.parse(cib_file).getroot().find(".//crm_config"), PROPERTIES, name)


@pytest.mark.parametrize("stack", STACKS)
def test_a_version_lower_than_the_clusters_release_is_refused_before_anything_changes(stack, tmp_path):
    """Reverting bluemind.version would make the apt pin (1001) downgrade the packages: the chain's first step
    (and the package step) compare it with the release recorded in the CIB (dpkg's ordering) and refuse, naming
    both versions and the way out, with the CIB untouched; bluemind.allow_downgrade lets it through."""
    require_tool("crm_simulate", "crm_attribute", "cibadmin", "dpkg")
    s, cib_file, env, run = _simulated_cluster(tmp_path, stack)

    def maintenance() -> str | None:
        return _meta(cib_file, GROUP_ID, "maintenance")

    def at(version: str, allow: bool = False):
        return settings_with(stack, bluemind={"version": version, "allow_downgrade": allow})

    running = s.bluemind.version + ".1"   # the cluster was updated past the stack's version
    assert run(update.chain_armed_script(at(running))).returncode == 0
    before = cib_file.read_text()
    for step in (update.maintenance_on_script(s), update.package_update_script(s, s.nodes[0])):
        refused = run(step)
        assert refused.returncode == 1, refused.stdout
        assert "REFUSED: a downgrade" in refused.stderr and running in refused.stderr
        assert f'back to "{running}" in stacks/Pulumi.{stack}.yaml' in refused.stderr
        assert "allow_downgrade: true" in refused.stderr
    assert cib_file.read_text() == before and maintenance() != "true", "a refused downgrade changes nothing"

    # An update goes through: dpkg's ordering, not text's.
    newer = run(update.maintenance_on_script(at(running + "0")))   # x.y.z.10 > x.y.z.1, though "10" < "1" as text
    assert newer.returncode == 0 and "DOWNGRADE" not in newer.stdout, newer.stderr
    subprocess.run(["crm_resource", "--resource", GROUP_ID, "--meta", "--delete-parameter", "maintenance"],
                   env=env, check=True, capture_output=True, timeout=30)

    allowed = run(update.maintenance_on_script(at(s.bluemind.version, allow=True)))
    assert allowed.returncode == 0, allowed.stderr
    assert f"DOWNGRADE of BlueMind from {running} to {s.bluemind.version}" in allowed.stdout
    assert maintenance() == "true"
