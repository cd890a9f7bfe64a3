"""The lab's results (lab/report.py, lab/timeline_report.py): both profiles side by side, the timeline per
scenario with its medians, each member's start, and the budget block lab.run copies into lab/README.md."""
from __future__ import annotations

import pytest

from lab import report, timeline_report
from lab.profiles import profile_settings
from lab.scenarios import Result
from lab.timeline import MemberStart, Timeline


def _result(scenario: str, victim: str, recovery: float, fence_delay: float | None) -> Result:
    fenced = fence_delay is not None
    timeline = Timeline(
        token_lost=2.5 if fenced else None, membership=6.2 if fenced else None,
        monitor_failed=None if fenced else 15.0, fence_requested=6.4 if fenced else None, fence_delay_s=fence_delay,
        fence_done=6.4 + fence_delay + 5.0 if fenced else None,
        starts=(MemberStart("fs-var-spool-bm-docs", recovery - 4.0, recovery - 3.9),
                MemberStart("svc-postgresql", recovery - 3.0, recovery + 0.5)),
        first_write=recovery)
    return Result(scenario, victim, (victim,) if fenced else (), (victim,) if fenced else (), recovery, 0, 0, True,
                  timeline)


def _runs() -> list[report.ProfileRun]:
    lab = report.ProfileRun("lab", profile_settings("lab"), 3,
                            [_result("crash", "lab1", 20.0, 7.0), _result("crash", "lab2", 18.0, 5.0),
                             _result("monitor", "lab1", 17.0, None)], 900, 500)
    prod = report.ProfileRun("prod", profile_settings("prod"), 3,
                             [_result("crash", "lab1", 41.0, 22.0), _result("crash", "lab2", 34.0, 15.0)], 900, 500)
    return [lab, prod]


def test_the_profiles_side_by_side():
    table = report.side_by_side(_runs())
    assert "| lab | token 3000 ms, priority-fencing-delay 5 s, stonith-timeout 60 s | 3 of 3 | 18.0 | 20.0 | 19.0 | " \
           "20.0 | PASS |" in table
    assert "| prod | token 5000 ms, priority-fencing-delay 15 s, stonith-timeout 90 s | 2 of 3 | 37.5 | 41.0 | " \
           "37.5 | 41.0 | FAIL |" in table  # a scenario short


def test_the_timeline_median_row_skips_what_did_not_happen():
    table = timeline_report.timeline_table(_runs()[0].results)
    assert table.splitlines()[-1] == ("| | **median** | | 2.5 | 6.2 | 15.0 | 6.4 | 6.0 | 17.4 | 14.0 | 18.5 | 18.5 "
                                      "| 18.0 |")


def test_the_budget_table_sets_the_measured_medians_of_the_fenced_failovers_beside_the_budget():
    table = report.budget_table(_runs())
    assert "| detection | token + consensus (1.2 x token) | 6.6 | 6.2 | 11 | 6.2 |" in table
    assert "| fence delay | priority-fencing-delay, + pcmk_delay_base when the primary is fenced | 5 to 7 | 6.0 | " \
           "15 to 22 | 18.5 |" in table
    assert "| **recovery** | fault to the client's first write | - | **19.0** | - | **37.5** |" in table


def test_member_starts_and_the_filesystems_sum():
    table = timeline_report.member_table(_runs()[0].results, frozenset({"fs-var-spool-bm-docs"}))
    assert "| fs-var-spool-bm-docs | 0.10 | 0.10 |" in table
    assert "| svc-postgresql | 3.50 | 3.50 |" in table
    assert "| **the Filesystem members, one after the other** | 0.1 | |" in table


def test_the_readme_block_is_replaced_and_nothing_else():
    readme = f"intro\n{timeline_report.BUDGET_BEGIN}\nold\n{timeline_report.BUDGET_END}\nrest\n"
    assert timeline_report.replace_block(readme, "new") == \
        f"intro\n{timeline_report.BUDGET_BEGIN}\nnew\n{timeline_report.BUDGET_END}\nrest\n"
    assert timeline_report.between(timeline_report.replace_block(readme, "new")) == "new"
    with pytest.raises(ValueError, match="no .* block"):
        timeline_report.replace_block("no markers", "new")


def test_the_results_document_holds_both_profiles_and_the_load():
    text = report.document(_runs(), ("4.11 / 2.23 / 1.38", "6.74 / 3.94 / 2.15"))
    assert "## Profile `lab`" in text and "## Profile `prod`" in text
    assert "4.11 / 2.23 / 1.38 at the start, 6.74 / 3.94 / 2.15 at the end" in text
    assert timeline_report.between(text) == report.headline(_runs())
    assert report.budget_table(_runs()) in report.headline(_runs())
