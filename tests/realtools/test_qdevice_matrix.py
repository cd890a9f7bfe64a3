"""The failover matrix with an arbitrator (cluster.qdevice, tools/failover_qdevice.py), played by pacemaker's
scheduler on the rendered CIB: only the side holding quorum acts. A crash is fenced without any priority delay;
a split goes to the side with the arbitrator's vote (a tie: the primary) while the other side fences nobody and
starts nothing; with the arbitrator down a failure leaves the survivor inquorate and frozen; a node booting
alone with the arbitrator's vote fences its peer first."""
from __future__ import annotations

import functools
import subprocess

import pytest

from components.render.cib import render_cib
from tests.conftest import require_tool
from tests.stacks import settings_of
from tools import crmsim, failover

# 4.x and 5.x service lists; dev-qdevice's CIB is lab-qdevice's but for names and sizes.
CONFIGS = ("lab-qdevice", "prod-qdevice")


@functools.cache
def _matrix(name: str) -> failover.Matrix:
    s = settings_of(name)
    cib = render_cib(s)
    return failover.run_matrix(s, cib, failing_members=failover.model(s, cib).members[:1])


@pytest.fixture(params=CONFIGS)
def matrix(request):
    require_tool("crm_simulate", "crm_verify")
    return settings_of(request.param), _matrix(request.param)


def test_the_cib_verifies_and_no_row_breaks_the_safety_rules(matrix, tmp_path):
    s, mx = matrix
    (tmp_path / "cib.xml").write_text(render_cib(s))
    subprocess.run(["crm_verify", "--xml-file", str(tmp_path / "cib.xml")], check=True, timeout=60)
    assert mx.quorum.device and mx.quorum.survivor_quorate
    assert {o.key: o.unsafe for o in mx.outcomes if o.unsafe} == {}


def test_a_crash_is_fenced_without_a_priority_delay(matrix):
    s, mx = matrix
    o = mx.outcome("active-crash")
    (target, earliest, _), = o.fenced
    assert target == mx.active and earliest == 0  # no delay at all: the arbitrator decided
    assert (o.group_after, o.running_after) == ((mx.passive,), mx.members)


def test_a_split_goes_to_the_side_with_the_vote_and_the_other_does_nothing(matrix):
    s, mx = matrix
    primary, secondary = (n.name for n in s.nodes)
    for key in ("fence-race", "fence-race-stopped", "fence-race-after-failover"):
        o = mx.outcome(key)
        assert [node for node, *_ in o.fenced] == [secondary] and o.does.startswith(
            f"The arbitrator's vote goes to {primary}"), (key, o.does)
    loser = mx.outcome("split-loser")
    assert (loser.fenced, loser.started, loser.unsafe) == ((), (), ())


def test_with_the_arbitrator_down_a_failure_leaves_the_survivor_frozen(matrix):
    _, mx = matrix
    for key in ("arbitrator-down-active-crash", "arbitrator-down-passive-crash"):
        o = mx.outcome(key)
        assert (o.fenced, o.started, o.stopped, o.unsafe) == ((), (), (), ()), (key, o.does)
    assert mx.outcome("arbitrator-down-passive-crash").group_after == (mx.active,)


def test_a_node_booting_alone_with_the_arbitrators_vote_fences_its_peer_before_it_starts(matrix):
    """No wait_for_all (it would keep a survivor inquorate after an arbitrator outage): a node that boots alone
    holds 2 of 3 votes, so it fences the peer it has not seen, then starts the group (the safety rules check
    that every start waits for that fence)."""
    s, mx = matrix
    assert mx.quorum.lone_boot_quorate
    o = mx.outcome("boot-alone")
    booted, other = (n.name for n in s.nodes)
    assert [node for node, *_ in o.fenced] == [other] and o.group_after == (booted,) and o.unsafe == ()


def test_the_inquorate_rows_would_act_with_quorum():
    """Not vacuous: the same loss with quorum fences and starts."""
    require_tool("crm_simulate")
    s = settings_of("lab-qdevice")
    settled = crmsim.settle(render_cib(s), [n.name for n in s.nodes])
    step = crmsim.simulate(settled, quorum=True, fail=[s.primary.name], execute=False)
    assert step.graph.fences() and step.graph.ops("start")
