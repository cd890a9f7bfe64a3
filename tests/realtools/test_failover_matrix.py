"""The failover matrix (tools/failover.py), played by pacemaker's own scheduler (crm_simulate) for every stack and
variant: the cluster does what an admin relies on, the safety rules bite, and the admin's table says it.
"""
from __future__ import annotations

import functools
import xml.etree.ElementTree as ET

import pytest

from components.render.cib import render_cib
from components.render.cib_nvsets import INSTANCE, META, PROPERTIES, nvpair_value, set_nvpair
from components.settings import Settings
from tests.conftest import require_tool
from tests.stacks import STACK_NAMES, TWO_NODE_CIB_CONFIGS, settings_of
from tools import failover
from tools.failover_markdown import failover_markdown


@functools.cache
def matrix_of(name: str) -> failover.Matrix:
    """Every member's monitor fails in the stacks (4.x and 5.x service lists); the variants, which change
    the mode or the service list of a stack, fail the first and the last member."""
    s = settings_of(name)
    cib = render_cib(s)
    members = failover.model(s, cib).members
    return failover.run_matrix(s, cib, failing_members=None if name in STACK_NAMES else (members[0], members[-1]))


# ---------------------------------------------------------------------------------------------------
# The matrix, played by pacemaker's scheduler
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(params=TWO_NODE_CIB_CONFIGS)
def matrix(request) -> tuple[Settings, failover.Matrix]:
    require_tool("crm_simulate")
    return settings_of(request.param), matrix_of(request.param)


def test_no_scenario_breaks_the_safety_rules(matrix):
    _, mx = matrix
    assert {o.key: o.unsafe for o in mx.outcomes if o.unsafe} == {}


def test_active_node_crash(matrix):
    s, mx = matrix
    o = mx.outcome("active-crash")
    if s.fenced:
        assert [node for node, *_ in o.fenced] == [mx.active]
        assert o.started == tuple((rsc, mx.passive) for rsc in mx.members)
        assert (o.group_after, o.running_after) == ((mx.passive,), mx.members)
    else:
        assert (o.fenced, o.started, o.group_after) == ((), (), ())


def test_passive_node_crash(matrix):
    s, mx = matrix
    o = mx.outcome("passive-crash")
    assert [node for node, *_ in o.fenced] == ([mx.passive] if s.fenced else [])
    assert (o.started, o.stopped, o.group_after, o.running_after) == ((), (), (mx.active,), mx.members)


def test_fence_race_leaves_the_active_node_running_the_group(matrix):
    s, mx = matrix
    o = mx.outcome("fence-race")
    assert o.group_after == (mx.active,)
    if s.fenced:
        (target, earliest, latest), = o.fenced
        assert target == mx.passive
        # The survivor of the race shoots first: the fence of the active node waits priority-fencing-delay
        # (and, the active node being the primary, its device's pcmk_delay_base).
        (_, active_earliest, _), = mx.outcome("active-crash").fenced
        static = s.policy.fence_delay_base_s if mx.active == s.nodes[0].name else 0
        assert latest < active_earliest == s.cluster.priority_fencing_delay_s + static


def test_a_split_while_the_group_runs_nowhere_fences_exactly_one_node(matrix):
    """Issue 14 item 2: with the group stopped the priorities are equal; the static delay on the device
    fencing the primary decides the race, so the primary fences the secondary and nobody fences the primary."""
    s, mx = matrix
    o = mx.outcome("fence-race-stopped")
    assert (o.unsafe, o.group_before, o.group_after) == ((), (), ())
    if s.fenced:
        primary, secondary = (n.name for n in s.nodes)
        assert [node for node, *_ in o.fenced] == [secondary], o.does
        assert o.does.startswith(f"{primary} wins the race"), o.does
    else:
        assert o.fenced == ()


def test_the_node_running_the_group_wins_a_split_after_a_failover(matrix):
    """The static delay is shorter than priority-fencing-delay: once the group runs on the secondary, the
    secondary still wins a split against the primary."""
    s, mx = matrix
    if not s.fenced:
        return
    o = mx.outcome("fence-race-after-failover")
    assert [node for node, *_ in o.fenced] == [mx.active] and o.group_after == (mx.passive,), o.does
    assert o.does.startswith(f"{mx.passive} wins the race") and o.unsafe == (), o.does


def test_nothing_starts_while_the_fence_cannot_complete(matrix):
    s, mx = matrix
    if not s.fenced:
        assert "fence-fails" not in {o.key for o in mx.outcomes}  # no fence to fail, nothing started
        return
    assert mx.outcome("fence-fails").started == ()
    # Not vacuous: the same transition graph starts the whole group once the fence has completed.
    assert len(mx.outcome("active-crash").started) == len(mx.members)


def test_a_flaky_bmc_never_disables_the_fence_device(matrix):
    """Issue 14 item 1: as many failed monitors of the device fencing the active node as move the group
    restart it in place on the passive node, and a crash of the active node after that is still fenced."""
    s, mx = matrix
    if not s.fenced:
        assert "fence-device-flaky" not in {o.key for o in mx.outcomes}
        return
    o = mx.outcome("fence-device-flaky")
    assert o.unsafe == () and o.does.startswith(f"Restarts fence-{mx.active} in place on {mx.passive}"), o.does
    assert [node for node, *_ in o.fenced] == [mx.active]
    assert (o.group_after, o.running_after) == ((mx.passive,), mx.members)


def test_a_node_that_loses_its_uplink_hands_the_group_over(matrix):
    """Issue 14 item 7: the ping attribute 0 on the active node (the peer reaching its targets) moves the
    group; 0 on both nodes (the gateway is down) moves nothing. Manual stacks never move the group."""
    s, mx = matrix
    keys = {o.key for o in mx.outcomes}
    if not s.fenced:
        assert not keys & {"uplink-lost", "uplink-lost-both"}
        assert ET.fromstring(render_cib(s)).find(".//primitive[@type='ping']") is None
        return
    lost = mx.outcome("uplink-lost")
    assert lost.when.startswith(f"{mx.active} loses its uplink") and " or ".join(s.ping_targets) in lost.when
    assert (lost.unsafe, lost.fenced, lost.group_after, lost.running_after) == ((), (), (mx.passive,), mx.members)
    assert lost.started == tuple((r, mx.passive) for r in mx.members)
    both = mx.outcome("uplink-lost-both")
    assert (both.unsafe, both.fenced, both.stopped, both.started, both.group_after) == ((), (), (), (), (mx.active,))


def test_no_failback_when_the_lost_node_returns(matrix):
    s, mx = matrix
    o = mx.outcome("failback")
    assert len(o.group_after) == 1 and o.running_after == mx.members
    if s.fenced:
        assert (o.group_after, o.started, o.stopped) == ((mx.passive,), (), ())


def test_maintenance_mode_freezes_everything(matrix):
    _, mx = matrix
    o = mx.outcome("maintenance")
    assert (o.fenced, o.started, o.stopped, o.group_after) == ((), (), (), (mx.active,))


def test_a_node_lost_during_the_update_window_is_still_fenced(matrix):
    """Issue 14 item 6: the update chain's window (the group's maintenance) keeps STONITH live, unlike the
    cluster-wide maintenance-mode, which leaves a lost node unfenced (the proof bites: maintenance-active-crash)."""
    s, mx = matrix
    active = mx.outcome("update-window-active-crash")
    passive = mx.outcome("update-window-passive-crash")
    if s.fenced:
        assert [node for node, *_ in active.fenced] == [mx.active]
        assert [node for node, *_ in passive.fenced] == [mx.passive]
        assert mx.outcome("maintenance-active-crash").fenced == ()
    else:
        assert active.fenced == passive.fenced == ()
    # The unmanaged group is never started on the survivor in the middle of an update, nor moved.
    assert (active.started, active.stopped, active.group_after) == ((), (), ())
    assert (passive.started, passive.stopped, passive.group_after, passive.running_after) == \
        ((), (), (mx.active,), mx.members)


def test_pacemaker_leaves_the_group_alone_during_the_update_window(matrix):
    """Failed monitors during the update (package scripts restarting services) neither restart nor move the
    group, even at the migration-threshold."""
    _, mx = matrix
    o = mx.outcome("update-window")
    # The member whose monitor said "not running" is left as reported; every other one keeps running.
    assert (o.fenced, o.started, o.stopped, o.group_after, o.running_after) == \
        ((), (), (), (mx.active,), mx.members[1:])


def test_the_update_window_proof_bites():
    """Without the window (the group managed), the same failures restart the group; without fencing armed
    (maintenance-mode), the same crash is not fenced."""
    require_tool("crm_simulate")
    mx = matrix_of("dev")
    assert mx.outcome("monitor-" + mx.members[0] + "-threshold").started  # managed: it moves
    assert mx.outcome("update-window-active-crash").fenced and not mx.outcome("maintenance-active-crash").fenced


def test_a_node_booting_alone_starts_nothing(matrix):
    _, mx = matrix
    assert not mx.quorum.lone_boot_quorate
    o = mx.outcome("boot-alone")
    assert (o.fenced, o.started) == ((), ())


def _non_critical(cib: str) -> set[str]:
    """Group members whose failures must never move the group (meta critical=false)."""
    return {p.get("id") for p in ET.fromstring(cib).iter("primitive")
            if nvpair_value(p, META, "critical") == "false"}


def test_each_member_restarts_in_place_then_moves_the_group_at_its_threshold_only_when_fenced(matrix):
    s, mx = matrix
    non_critical = _non_critical(render_cib(s))
    failing = [o.key.removeprefix("monitor-").removesuffix("-restart") for o in mx.outcomes
               if o.key.startswith("monitor-") and o.key.endswith("-restart")]
    assert failing == (list(mx.members) if s.stack in STACK_NAMES else [mx.members[0], mx.members[-1]])
    for rsc in failing:
        i = mx.members.index(rsc)
        restart = mx.outcome(f"monitor-{rsc}-restart")
        from_it = mx.members[i:]
        assert restart.stopped == tuple((r, mx.active) for r in reversed(from_it)), rsc
        assert restart.started == tuple((r, mx.active) for r in from_it), rsc
        assert (restart.fenced, restart.group_after, restart.running_after) == ((), (mx.active,), mx.members), rsc
        if not s.fenced:
            # The seed: no automatic changeover without STONITH. A run of failures restarts in place, and
            # there is no threshold at which the group would leave.
            assert f"fails {failover.FAILURES_WITHOUT_THRESHOLD} times" in restart.when, rsc
            assert not any(o.key == f"monitor-{rsc}-threshold" for o in mx.outcomes), rsc
            continue
        moved = mx.outcome(f"monitor-{rsc}-threshold")
        if rsc in non_critical:
            # The config sync stops on its node; BlueMind stays where it is (no failover for lsyncd).
            assert (moved.stopped, moved.started, moved.fenced) == (((rsc, mx.active),), (), ()), rsc
            assert moved.group_after == (mx.active,) and rsc not in moved.running_after, rsc
            continue
        assert moved.stopped == tuple((r, mx.active) for r in reversed(mx.members)), rsc
        assert moved.started == tuple((r, mx.passive) for r in mx.members), rsc
        assert (moved.fenced, moved.group_after) == ((), (mx.passive,)), rsc


# The safety rules bite: the unsafe configurations they exist for are reported as unsafe.
def _without(cib: str, property_name: str, replacement: str | None = None) -> str:
    root = ET.fromstring(cib)
    set_nvpair(root.find(f".//crm_config/{PROPERTIES}"), property_name, replacement)
    return ET.tostring(root, encoding="unicode")


def _without_static_delay(cib: str) -> str:
    root = ET.fromstring(cib)
    for params in root.iterfind(f".//primitive[@class='stonith']/{INSTANCE}"):
        set_nvpair(params, "pcmk_delay_base", None)
    return ET.tostring(root, encoding="unicode")


def test_safety_rules_flag_a_fence_race_without_priority_fencing_delay():
    require_tool("crm_simulate")
    s = settings_of("dev")
    cib = _without_static_delay(_without(render_cib(s), "priority-fencing-delay"))
    mx = failover.run_matrix(s, cib, failing_members=())
    assert mx.outcome("fence-race").unsafe == ("the fence race is not decided",)


def test_safety_rules_flag_a_fence_race_with_the_group_stopped_without_a_static_delay():
    require_tool("crm_simulate")
    s = settings_of("dev")
    mx = failover.run_matrix(s, _without_static_delay(render_cib(s)), failing_members=())
    assert mx.outcome("fence-race-stopped").unsafe == ("the fence race is not decided",)
    assert mx.outcome("fence-race").unsafe == ()  # priority-fencing-delay alone decides it while the group runs


def test_safety_rules_flag_a_fence_device_that_the_group_threshold_bans():
    """Without its own migration-threshold=0, the device inherits the group's threshold from rsc_defaults."""
    require_tool("crm_simulate")
    s = settings_of("dev")
    root = ET.fromstring(render_cib(s))
    for device in root.iterfind(".//primitive[@class='stonith']"):
        set_nvpair(device.find(META), "migration-threshold", None)
    mx = failover.run_matrix(s, ET.tostring(root, encoding="unicode"), failing_members=())
    o = mx.outcome("fence-device-flaky")
    assert o.unsafe == (f"{mx.passive}'s fencer ignores fence-{mx.active} (banned from its node): {mx.active} "
                        "cannot be fenced",), o.does


def test_uplink_scenario_bites_without_the_location_rule():
    require_tool("crm_simulate")
    s = settings_of("dev")
    root = ET.fromstring(render_cib(s))
    constraints = root.find(".//constraints")
    constraints.remove(constraints.find("rsc_location[@rsc='bluemind'][rule]"))
    mx = failover.run_matrix(s, ET.tostring(root, encoding="unicode"), failing_members=())
    assert mx.outcome("uplink-lost").group_after == (mx.active,)


def test_safety_rules_flag_takeover_without_fencing():
    """stonith-enabled=false with two_node: the survivor starts the group without knowing the peer is off."""
    require_tool("crm_simulate")
    s = settings_of("dev")
    mx = failover.run_matrix(s, _without(render_cib(s), "stonith-enabled", "false"), failing_members=())
    assert any(f"before {mx.active} is fenced" in problem for problem in mx.outcome("active-crash").unsafe)
    assert mx.outcome("fence-fails").unsafe


# ---------------------------------------------------------------------------------------------------
# The admin's table
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ("dev", "dev-manual"))
def test_failover_markdown_is_deterministic_and_says_what_happens(name):
    require_tool("crm_simulate")
    s = settings_of(name)
    cib = render_cib(s)
    first, second = failover_markdown(s, cib), failover_markdown(s, cib)
    assert first == second
    active, passive = (n.name for n in s.nodes)
    crash_row = next(line for line in first.splitlines() if line.startswith(f"| {active}, the active node, crashes"))
    if s.fenced:
        assert f"Fences {active}" in crash_row and f"starts the whole group on {passive} in order" in crash_row
    else:
        assert f"Starts nothing on {passive}" in crash_row
    assert "| no |" not in first
    assert f"during an update (the update chain's window: group bluemind meta maintenance=true), {active}" in first
