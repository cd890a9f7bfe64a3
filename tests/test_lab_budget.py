"""The failover budget (lab/budget.py) from the rendered corosync.conf and CIB, the lab's timing profiles
(lab/profiles.py), the corosync transform they run with, and the budget table's copy in lab/README.md."""
from __future__ import annotations

import re

import pytest

from components.render.cib import render_cib
from components.render.corosync import render_corosync
from lab import qnetd, timeline_report
from lab.budget import Item, budget, corosync_timings, fence_total, seconds
from lab.profiles import PROFILES, TIMING_KEYS, profile_settings
from lab.timeline import PHASES
from lab.transform import lab_corosync
from tests.conftest import ROOT
from tools.stackfile import load_settings


def _budget(settings) -> dict[str, Item]:
    return {item.phase: item for item in budget(render_corosync(settings), render_cib(settings))}


def test_the_lab_stacks_budget():
    items = _budget(load_settings("lab"))
    assert (items["detection"].low, items["detection"].high) == pytest.approx((6.6, 6.6))  # 3 s + 1.2 x 3 s
    # priority-fencing-delay 5 s, and 2 s more (pcmk_delay_base) when the primary is the one fenced
    assert (items["fence delay"].low, items["fence delay"].high) == (5, 7)
    assert (items["fence action"].low, items["fence action"].limit) == (4, 60)  # 2 x power_wait; stonith-timeout
    assert items["decision"].text() == "-"
    assert fence_total(list(items.values())) == pytest.approx((15.6, 17.6))


def test_the_prod_stacks_budget_is_twice_the_labs_before_anything_starts():
    items = _budget(load_settings("prod"))
    assert items["detection"].low == pytest.approx(11.0)
    assert (items["fence delay"].low, items["fence delay"].high) == (15, 22)
    assert items["fence action"].limit == 90
    assert fence_total(list(items.values())) == pytest.approx((30.0, 37.0))


def test_the_budget_has_a_line_for_every_phase_of_the_timeline():
    assert [i.phase for i in budget(render_corosync(load_settings("lab")), render_cib(load_settings("lab")))] == \
        [name for name, *_ in PHASES]


def test_an_explicit_consensus_and_power_wait_are_read():
    conf = "totem {\n    token: 2000\n    consensus: 5000\n}\nlogging {\n    token: 9\n}\n"
    assert corosync_timings(conf) == (2.0, 5.0)
    cib = render_cib(load_settings("lab")).replace(
        '<nvpair id="fence-lab1-instance_attributes-lanplus"',
        '<nvpair id="x" name="power_wait" value="5" /><nvpair id="fence-lab1-instance_attributes-lanplus"')
    assert {i.phase: i for i in budget(conf, cib)}["fence action"].low == 10


def test_the_group_start_limit_adds_the_start_timeouts_up_to_postgresql():
    settings = load_settings("lab")
    cib = render_cib(settings)
    before_pg = cib[:cib.index('<primitive id="svc-postgresql"')]
    expected = sum(int(t) for t in re.findall(r'name="start" interval="0s" timeout="(\d+)s"',
                                              before_pg[before_pg.index('<group '):]))
    expected += int(re.search(r'id="svc-postgresql-start-interval-0s" name="start" interval="0s" timeout="(\d+)s"',
                              cib)[1])
    assert _budget(settings)["group start"].limit == expected


@pytest.mark.parametrize("spec, value", [("5s", 5), ("2min", 120), ("500ms", 0.5), ("60", 60), ("1h", 3600)])
def test_pacemaker_durations(spec, value):
    assert seconds(spec) == value


def test_a_duration_pacemaker_would_not_read_is_refused():
    with pytest.raises(ValueError, match="not a pacemaker duration"):
        seconds("5 parsecs")


def test_item_text():
    assert Item("x", "", 6.6, 6.6).text() == "6.6"
    assert Item("x", "", 5, 7).text() == "5 to 7"
    assert Item("x", "", 4, None, 60).text() == "≥ 4 (limit 60)"
    assert Item("x", "", None, None, 1400).text() == "- (limit 1400)"


def test_the_prod_profile_is_the_lab_with_prods_cluster_timeouts():
    lab, prod, prod_stack = profile_settings("lab"), profile_settings("prod"), load_settings("prod")
    for key in TIMING_KEYS:
        assert getattr(prod.cluster, key) == getattr(prod_stack.cluster, key)
    assert prod.cluster.token_ms != lab.cluster.token_ms
    # the lab's topology stays: addresses, BMCs, LUNs, services
    assert (prod.stack, prod.nodes, prod.network, prod.storage.luns, prod.bluemind) == \
        (lab.stack, lab.nodes, lab.network, lab.storage.luns, lab.bluemind)
    assert prod.cluster.alert_recipients == lab.cluster.alert_recipients  # no mail from the lab


def test_an_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="one of lab, prod"):
        profile_settings("staging")


def test_profiles_to_run():
    from lab.run import profiles_to_run

    assert profiles_to_run(quick=True, profile=None) == ["lab"]  # CI stays fast
    assert profiles_to_run(quick=False, profile=None) == list(PROFILES)
    assert profiles_to_run(quick=False, profile="prod") == ["prod"]


def test_the_whole_lab_runs_each_profile_without_and_with_an_arbitrator():
    """`make lab` (issue 16): the four combinations side by side; CI's quick runs one each (test_lab, test_lab_qdevice)."""
    from lab.run import arbitrations_to_run

    assert arbitrations_to_run(quick=False, profile=None, qdevice=False, no_qdevice=False) == [False, True]
    assert arbitrations_to_run(quick=True, profile=None, qdevice=False, no_qdevice=False) == [False]
    assert arbitrations_to_run(quick=True, profile=None, qdevice=True, no_qdevice=False) == [True]
    assert arbitrations_to_run(quick=False, profile=None, qdevice=False, no_qdevice=True) == [False]
    assert arbitrations_to_run(quick=False, profile="prod", qdevice=False, no_qdevice=False) == [False]


def test_the_lab_corosync_has_millisecond_timestamps_and_nothing_else_changes():
    rendered = render_corosync(load_settings("lab"))
    lab = lab_corosync(rendered)
    assert "    timestamp: hires\n" in lab and "timestamp: on" not in lab
    assert lab.replace("timestamp: hires", "timestamp: on") == rendered
    with pytest.raises(ValueError, match="update lab.transform"):
        lab_corosync(rendered.replace("timestamp: on", "timestamp: off"))


def test_the_readme_copy_of_the_budget_table_is_the_results_one_and_the_budget_is_current():
    """lab/README.md shows RESULTS.md's table (lab.run writes both); its budget columns are what the current
    stacks render: a timeout changed without a new `make lab` fails here."""
    readme = timeline_report.between((ROOT / "lab" / "README.md").read_text())
    results = timeline_report.between((ROOT / "lab" / "RESULTS.md").read_text())
    assert readme is not None and readme == results
    assert timeline_report.between((ROOT / "README.md").read_text()) == results  # the admin's README too
    rows = [line.split(" | ") for line in readme.splitlines() if line.startswith("| ")]
    # Which run each pair of columns is: `lab`, `prod`, or either `+qdevice` (with an arbitrator, lab.qnetd).
    header = next(row for row in rows if row[0] == "| phase")
    runs = [cell.removesuffix(": budget (s)") for cell in header if cell.endswith(": budget (s)")]
    assert runs[:2] == list(PROFILES) and set(runs) <= {*PROFILES, *(f"{p}+qdevice" for p in PROFILES)}, runs
    settings = {run: (qnetd.profile_settings if run.endswith("+qdevice") else profile_settings)(
        run.removesuffix("+qdevice")) for run in runs}
    budgets = {run: {i.phase: i.text() for i in budget(render_corosync(s), render_cib(s))}
               for run, s in settings.items()}
    checked = 0
    for row in rows:
        phase = row[0].lstrip("| ")
        if phase in budgets["lab"]:
            checked += 1
            assert [row[2 + 2 * i] for i in range(len(runs))] == [budgets[run][phase] for run in runs], phase
    assert checked == len(budgets["lab"])
