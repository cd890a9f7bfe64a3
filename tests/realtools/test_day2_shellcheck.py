"""Every day-2 script and the OCF agent pass shellcheck; the cluster check reads real pacemaker tools' output."""
from __future__ import annotations

import dataclasses
import os
import subprocess

import pytest

from components.agents import SERVICE_AGENT_SOURCE
from components.render import update
from components.render.cib import render_cib
from components.render.runbooks import manual_takeover_runbook, switchover_commands
from tests.conftest import require_tool
from tools.stackfile import load_settings

STACKS = ("dev", "prod", "lab")


def _scripts(stack: str):
    s = load_settings(stack)
    manual = dataclasses.replace(s, failover="manual")
    yield "maintenance_on", update.maintenance_on_script(s)
    for node in s.nodes:
        yield f"package_update-{node.name}", update.package_update_script(s, node)
        yield f"post_install-{node.name}", update.post_install_script(s, node)
    yield "maintenance_off", update.maintenance_off_script(s)
    yield "cluster_check", update.cluster_check_script(s)
    yield "switchover", switchover_commands(s)
    yield "takeover-fenced", manual_takeover_runbook(s)
    yield "takeover-manual", manual_takeover_runbook(manual)


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
    """The rendered CIB after pacemaker's own scheduler started it on both nodes (crm_simulate)."""
    s = load_settings(stack)
    cib = tmp_path / "cib.xml"
    cib.write_text(render_cib(s).replace("<cib ", '<cib have-quorum="1" ', 1))
    started = tmp_path / "started.xml"
    nodes = [arg for n in s.nodes for arg in ("-u", n.name)]
    subprocess.run(["crm_simulate", "-x", str(cib), *nodes, "-S", "-O", str(started)], check=True,
                   capture_output=True, timeout=60)
    return s, started


@pytest.mark.parametrize("stack", STACKS)
def test_cluster_check_passes_on_a_started_cluster_and_fails_in_maintenance(stack, tmp_path):
    require_tool("crm_simulate", "crm_mon", "crm_resource", "crm_attribute")
    s, cib_file = _simulated_cluster(tmp_path, stack)
    env = {**os.environ, "CIB_file": str(cib_file)}
    check = tmp_path / "check.sh"
    check.write_text(update.cluster_check_script(s))
    ok = subprocess.run(["bash", str(check)], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "runs complete on" in ok.stdout

    on = tmp_path / "on.sh"
    on.write_text(update.maintenance_on_script(s))
    subprocess.run(["bash", str(on)], env=env, check=True, capture_output=True, timeout=60)
    in_maintenance = subprocess.run(["bash", str(check)], env=env, capture_output=True, text=True, timeout=120)
    assert in_maintenance.returncode == 1 and "maintenance mode" in in_maintenance.stderr
