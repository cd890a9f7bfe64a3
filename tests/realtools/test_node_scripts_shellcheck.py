"""Every script the plan renders for a host (build/<stack>/nodes/<host>/NN-<step>.sh) passes `shellcheck -x`:
these are what `pulumi up` runs as root on the nodes, the storage host and the hypervisor."""
from __future__ import annotations

import subprocess

import pytest

from tests.conftest import require_tool
from tools.stackfile import STACKS

STACK_NAMES = tuple(sorted(p.name.split(".")[1] for p in STACKS.glob("Pulumi.*.yaml")))


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_rendered_node_scripts_pass_shellcheck(stack, tmp_path):
    require_tool("shellcheck", "crm_simulate")  # the plan also writes failover.md with crm_simulate
    from tools.plan import write_plan

    settings = write_plan(stack, tmp_path)
    scripts = sorted(tmp_path.glob("nodes/*/*.sh"))
    assert {n.name for n in settings.nodes} <= {p.parent.name for p in scripts}
    failures = []
    for script in scripts:
        # -x follows `source`d files; the scripts run from their own directory on the host.
        result = subprocess.run(["shellcheck", "-x", script.name], cwd=script.parent, capture_output=True,
                                text=True, timeout=60)
        if result.returncode != 0:
            failures.append(f"{script.relative_to(tmp_path)}:\n{result.stdout}{result.stderr}")
    assert failures == []
