"""The failover lab's timeline (lab/timeline.py): the phases read from the survivor's corosync and pacemaker
logs. The lines below are a real lab crash of lab1, as lab2 logged it (shortened after the ` | `), with the
corosync lines in hires format (the lab's transform) and a few lines that must not count."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from lab.timeline import PHASES, Timeline, extract, median, phase_durations, stamp, with_first_write

MEMBERS = ["fs-var-spool-bm-docs", "fs-var-lib-postgresql", "vip", "svc-postgresql", "svc-lsyncd"]
FAULT = datetime(2026, 12, 1, 7, 27, 52, 500000).timestamp()

LOG = """\
Dec 01 07:27:50.738 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for fence-lab1 on lab2: ok | CIB update 75
Dec 01 07:27:52.322 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for vip on lab2: ok | before the fault
Dec 01 07:27:53.012 [773] lab2 corosync info    [KNET  ] link: host: 1 link: 0 is down
Dec 01 07:27:55.049 [773] lab2 corosync notice  [TOTEM ] A processor failed, forming new configuration: token timed out (3000ms), waiting 3600ms for consensus.
Dec 01 07:27:58.650 [773] lab2 corosync notice  [TOTEM ] A new membership (2.d) was formed. Members left: 1
Dec 01 07:27:59.038 lab2 pacemaker-attrd     [801] (update_peer_state_iter) \tnotice: Node lab1 state is now lost | nodeid=1
Dec 01 07:27:59.040 lab2 pacemaker-controld  [803] (update_peer_state_iter) \tnotice: Node lab1 state is now lost | nodeid=1
Dec 01 07:27:59.500 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for ping on lab2: ok | not a member
Dec 01 07:28:00.142 lab2 pacemaker-controld  [803] (controld_execute_fence_action) \tnotice: Requesting fencing (reboot) of node lab1 | action=1 timeout=60000 priority_delay=5
Dec 01 07:28:00.146 lab2 pacemaker-fenced    [799] (schedule_stonith_command) \tnotice: Delaying 'reboot' action targeting lab1 using fence-lab1 for 7s | timeout=60s requested_delay=5s base=2s max=2s
Dec 01 07:28:11.978 lab2 pacemaker-fenced    [799] (log_async_result) \tnotice: Operation 'reboot' [5422] targeting lab1 using fence-lab1 returned 0 | call 6
Dec 01 07:28:11.978 lab2 pacemaker-fenced    [799] (finalize_op) \tnotice: Operation 'reboot' targeting lab1 by lab2 for pacemaker-controld.803@lab2: OK (complete) | id=85e02c5d
Dec 01 07:28:11.998 lab2 pacemaker-controld  [803] (do_lrm_rsc_op) \tnotice: Requesting local execution of start operation for fs-var-spool-bm-docs on lab2 | transition_key=4:0:0
Dec 01 07:28:12.050 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for fs-var-spool-bm-docs on lab2: ok | CIB update 109
Dec 01 07:28:12.102 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of monitor operation for fs-var-spool-bm-docs on lab2: ok | CIB update 112
Dec 01 07:28:12.622 lab2 pacemaker-controld  [803] (do_lrm_rsc_op) \tnotice: Requesting local execution of start operation for fs-var-lib-postgresql on lab2 | transition_key=5:0:0
Dec 01 07:28:12.690 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for fs-var-lib-postgresql on lab2: ok | CIB update 144
Dec 01 07:28:12.700 lab2 pacemaker-controld  [803] (do_lrm_rsc_op) \tnotice: Requesting local execution of start operation for vip on lab2 | transition_key=6:0:0
Dec 01 07:28:12.742 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for vip on lab2: ok | CIB update 150
Dec 01 07:28:12.766 lab2 pacemaker-controld  [803] (do_lrm_rsc_op) \tnotice: Requesting local execution of start operation for svc-postgresql on lab2 | transition_key=37:0:0
Dec 01 07:28:13.902 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for svc-postgresql on lab2: ok | CIB update 153
Dec 01 07:28:14.010 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for svc-lsyncd on lab1: ok | the other node
Dec 01 07:28:14.020 lab2 pacemaker-controld  [803] (do_lrm_rsc_op) \tnotice: Requesting local execution of start operation for svc-lsyncd on lab2 | transition_key=40:0:0
Dec 01 07:28:14.030 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for svc-lsyncd on lab2: ok | CIB update 160
Dec 01 07:28:40.000 [773] lab2 corosync notice  [TOTEM ] A new membership (1.12) was formed. Members joined: 1
Dec 01 07:29:30.000 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start operation for svc-postgresql on lab2: ok | after the window
"""


def _crash() -> Timeline:
    return extract(LOG.splitlines(), victim="lab1", node="lab2", members=MEMBERS, fault_wall=FAULT,
                   until_wall=FAULT + 60)


def test_stamps_of_pacemaker_corosync_and_hires_lines():
    pacemaker = "Dec 01 07:28:11.978 lab2 pacemaker-fenced    [799] (finalize_op) \tnotice: x"
    corosync = "Dec 01 07:27:59 [773] lab2 corosync notice  [TOTEM ] A new membership (2.d) was formed."
    hires = "Dec 01 07:27:59.123 [773] lab2 corosync notice  [TOTEM ] A new membership (2.d) was formed."
    assert stamp(pacemaker, FAULT) == pytest.approx((datetime(2026, 12, 1, 7, 28, 11, 978000).timestamp(), 0.001))
    assert stamp(corosync, FAULT) == (datetime(2026, 12, 1, 7, 27, 59).timestamp(), 1.0)
    assert stamp(hires, FAULT)[0] == pytest.approx(datetime(2026, 12, 1, 7, 27, 59, 123000).timestamp())
    assert stamp("  continuation of a multi-line message", FAULT) is None


def test_a_stamp_without_a_year_is_put_next_to_the_fault_across_new_year():
    new_year_eve = datetime(2026, 12, 31, 23, 59, 58).timestamp()
    assert stamp("Jan 01 00:00:03.000 lab2 pacemaker-controld [1] (x) \tnotice: y", new_year_eve)[0] == \
        pytest.approx(datetime(2027, 1, 1, 0, 0, 3).timestamp())
    assert time.localtime(new_year_eve).tm_year == 2026


def test_the_crash_milestones_since_the_fault():
    t = _crash()
    assert t.token_lost == pytest.approx(2.549, abs=1e-3)
    assert t.membership == pytest.approx(6.150, abs=1e-3)  # corosync's hires line, not the attrd one
    assert t.node_lost == pytest.approx(6.540, abs=1e-3)  # the controller's own line
    assert t.fence_requested == pytest.approx(7.642, abs=1e-3)
    assert t.fence_delay_s == 7.0
    assert t.fence_action_begun == pytest.approx(14.642, abs=1e-3)
    assert t.fence_done == pytest.approx(19.478, abs=1e-3)
    assert t.monitor_failed is None


def test_a_fence_without_an_announced_delay_waited_none():
    """An arbitrated stack sets no fence delay, so pacemaker-fenced logs no "Delaying" line: the fence action
    begins at the request, and the fence delay phase is 0, not unknown."""
    lines = [line for line in LOG.splitlines() if "Delaying" not in line]
    t = extract(lines, victim="lab1", node="lab2", members=MEMBERS, fault_wall=FAULT, until_wall=FAULT + 60)
    assert t.fence_delay_s is None and t.fence_action_begun == t.fence_requested
    durations = phase_durations(t)
    assert durations["fence delay"] == 0 and durations["fence action"] == pytest.approx(t.fence_done - t.fence_requested)


def test_only_the_group_members_started_on_the_node_after_the_fault_count():
    t = _crash()
    # not ping or the fence device (not members), not vip's start before the fault, not lab1's lsyncd, not
    # the PostgreSQL start after the window
    assert [s.member for s in t.starts] == MEMBERS
    assert t.started("svc-postgresql") == pytest.approx(21.402, abs=1e-3)
    assert t.starts[3].duration == pytest.approx(1.136, abs=1e-3)
    assert t.group_begun == pytest.approx(19.498, abs=1e-3)
    assert t.group_started == pytest.approx(21.530, abs=1e-3)


def test_the_phases_add_up_to_the_fault_to_the_first_write():
    t = _crash()
    durations = phase_durations(with_first_write(t, 22.0))
    assert list(durations) == [name for name, *_ in PHASES]
    assert durations["detection"] == pytest.approx(6.150, abs=1e-3)
    assert durations["fence delay"] == 7.0
    assert durations["fence action"] == pytest.approx(19.478 - 14.642, abs=1e-3)
    # to the client's first write: PostgreSQL takes writes before its agent reports the start
    assert durations["group start"] == pytest.approx(22.0 - 19.498, abs=1e-3)
    assert sum(durations.values()) == pytest.approx(22.0)


def test_seconds_only_corosync_stamps_count_in_the_second_of_the_fault():
    """Without hires, corosync's stamp is truncated: a line of the fault's own second is not dropped."""
    line = "Dec 01 07:27:52 [773] lab2 corosync notice  [TOTEM ] A processor failed, forming new configuration."
    t = extract([line], victim="lab1", node="lab2", members=MEMBERS, fault_wall=FAULT)
    assert t.token_lost == 0.0
    earlier = line.replace("07:27:52", "07:27:51")
    assert extract([earlier], victim="lab1", node="lab2", members=MEMBERS, fault_wall=FAULT).token_lost is None


def test_a_monitor_failure_restarts_in_place_without_a_fence():
    lines = [
        "Dec 01 07:28:20.000 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of monitor "
        "operation for vip on lab2: Cancelled | not a failure",
        "Dec 01 07:28:20.100 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of monitor "
        "operation for svc-postgresql on lab2: not running | CIB update 200",
        "Dec 01 07:28:20.300 lab2 pacemaker-controld  [803] (do_lrm_rsc_op) \tnotice: Requesting local execution "
        "of start operation for svc-postgresql on lab2 | transition_key=1",
        "Dec 01 07:28:21.500 lab2 pacemaker-controld  [803] (log_executor_event) \tnotice: Result of start "
        "operation for svc-postgresql on lab2: ok | CIB update 205",
    ]
    t = extract(lines, victim="lab2", node="lab2", members=MEMBERS, fault_wall=FAULT)
    assert t.monitor_failed == pytest.approx(27.6, abs=1e-3)
    assert t.fence_requested is None and t.membership is None
    assert phase_durations(t)["fence action"] is None


def test_median_skips_what_did_not_happen():
    assert median([1.0, None, 3.0]) == 2.0
    assert median([None]) is None
