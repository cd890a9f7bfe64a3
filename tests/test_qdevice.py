"""cluster.qdevice in the program: the arbitrator is a host of its own (an existing host, or a lab VM), its
steps and each node's come in the order the certificates need, each fed the previous step's output, all before
cluster-start; the nodes' firewall lets corosync-qdevice out to it, and nothing changes without it."""
from __future__ import annotations

import itertools

import pytest

from components.render.cib import render_cib
from components.render.firewall import render_ruleset
from tests.stacks import config_of, settings_of
from tools.plan import run_program


def _declared(name):
    return {d.name: d for d in run_program(name, *config_of(name)).declared}


def _depends(declared, later, earlier):
    """Whether the step `later` waits for `earlier` (the plan records dependencies by resource name)."""
    return earlier in declared[later].dependencies


@pytest.mark.parametrize("name", ["prod-qdevice", "dev-qdevice"])
def test_the_certificate_chain_runs_in_order_before_the_cluster_starts(name):
    s = settings_of(name)
    declared = _declared(name)
    q = s.qdevice.name
    assert f"{q}-qnetd" in declared
    for n in s.nodes:
        chain = [f"{q}-qnetd", f"{n.name}-qdevice-request", f"{q}-qnetd-sign-{n.name}", f"{n.name}-qdevice-cert",
                 f"{n.name}-cluster-start"]
        for earlier, later in itertools.pairwise(chain):
            assert _depends(declared, later, earlier), (later, earlier)
    if s.host_kind == "libvirt":  # the arbitrator is a small VM of the lab
        assert any(d.type == "libvirt:index/domain:Domain" and d.inputs.get("name") == q for d in declared.values())


def test_without_an_arbitrator_nothing_of_it_is_declared():
    declared = _declared("prod")
    assert not [name for name in declared if "qnetd" in name or "qdevice" in name]


@pytest.mark.parametrize("name", ["prod", "prod-qdevice"])
def test_the_nodes_reach_the_arbitrator_on_5403_only_with_one(name):
    s = settings_of(name)
    rules = render_ruleset(s, s.nodes[0])
    assert ("tcp dport 5403" in rules) == (s.qdevice is not None)
    if s.qdevice:
        assert f"ip daddr {s.qdevice.ip} tcp dport 5403 accept" in rules


@pytest.mark.parametrize("name", ["dev-qdevice", "prod-qdevice"])
def test_with_an_arbitrator_no_fence_device_waits(name):
    """Only the quorate side fences: a static delay on the primary's device would break no race, and would slow
    down every failover away from a crashed primary (7 s with production's defaults, lab/README.md)."""
    cib = render_cib(settings_of(name))
    assert "pcmk_delay_base" not in cib and 'name="priority-fencing-delay" value="0s"' in cib
