"""The timeline tables of the results: per scenario, where the seconds went (lab.timeline), the median of
each phase, each member's start, and the budget (lab.budget) beside what was measured.

Pure: results and budgets in, Markdown out. The budget table (with the profiles side by side, lab.report) is
also copied into lab/README.md, between BUDGET_BEGIN and BUDGET_END (tests/test_lab_budget.py keeps the copy
and the budget in step).
"""
from __future__ import annotations

from collections.abc import Sequence

from components.services import POSTGRESQL
from lab.budget import Item, fence_total
from lab.scenarios import Result
from lab.timeline import PHASES, Timeline, median, phase_durations

BUDGET_BEGIN = "<!-- lab-budget: written by python -m lab.run (lab/timeline_report.py) -->"
BUDGET_END = "<!-- /lab-budget -->"
FENCED = ("crash", "split")  # the scenarios whose recovery is a fenced failover
PG = POSTGRESQL.rsc_id

# (column, value of a timeline), seconds since the fault
MILESTONES = (
    ("token lost", lambda t: t.token_lost),
    ("membership", lambda t: t.membership),
    ("monitor failed", lambda t: t.monitor_failed),
    ("fence requested", lambda t: t.fence_requested),
    ("fence delay", lambda t: t.fence_delay_s),
    ("fence done", lambda t: t.fence_done),
    ("group start", lambda t: t.group_begun),
    ("PostgreSQL up", lambda t: t.started(PG)),
    ("group up", lambda t: t.group_started),
    ("first write", lambda t: t.first_write),
)


def cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _timelines(results: Sequence[Result], kinds: tuple[str, ...] | None = None) -> list[Timeline]:
    return [r.timeline for r in results if r.timeline is not None and (kinds is None or r.scenario in kinds)]


def timeline_table(results: Sequence[Result]) -> str:
    """Seconds since the fault of each milestone, per scenario, and the median of each column over the
    scenarios that reached it (fence delay: the fencer's announced delay, a duration)."""
    head = "| # | scenario | victim | " + " | ".join(name for name, _ in MILESTONES) + " |"
    lines = [head, "|" + "---|" * (3 + len(MILESTONES))]
    for i, r in enumerate(results, 1):
        t = r.timeline or Timeline()
        lines.append(f"| {i} | {r.scenario} | {r.victim} | " + " | ".join(cell(get(t)) for _, get in MILESTONES) + " |")
    timelines = _timelines(results)
    lines.append("| | **median** | | " + " | ".join(cell(median(get(t) for t in timelines)) for _, get in MILESTONES)
                 + " |")
    return "\n".join(lines)


def phase_medians(results: Sequence[Result]) -> dict[str, float | None]:
    """The median of each phase (lab.timeline.PHASES) over the fenced failovers."""
    durations = [phase_durations(t) for t in _timelines(results, FENCED)]
    return {name: median(d[name] for d in durations) for name, *_ in PHASES}


def member_table(results: Sequence[Result], filesystems: frozenset[str]) -> str:
    """Each member's start (request to ok), median and max over the scenarios, in start order; the sums of the
    medians of the `filesystems` members (they start one after the other) and of all."""
    per_member: dict[str, list[float]] = {}
    for t in _timelines(results):
        for start in t.starts:
            if start.duration is not None:
                per_member.setdefault(start.member, []).append(start.duration)
    lines = ["| member | start, median (s) | start, max (s) |", "|---|---|---|"]
    lines += [f"| {m} | {median(d):.2f} | {max(d):.2f} |" for m, d in per_member.items()]
    for label, chosen in (("the Filesystem members", filesystems), ("all", frozenset(per_member))):
        total = sum(median(d) for m, d in per_member.items() if m in chosen) if per_member else None
        lines.append(f"| **{label}, one after the other** | {cell(total)} | |")
    return "\n".join(lines)


def budget_table(budgets: dict[str, list[Item]], measured: dict[str, dict[str, float | None]],
                 recovery: dict[str, float | None]) -> str:
    """Phase by phase, what the profile's configuration imposes (budget) and the median measured over its
    fenced failovers; `recovery` is each profile's recovery median over the same scenarios."""
    profiles = list(budgets)
    lines = ["| phase | where the budget comes from | " + " | ".join(f"{p}: budget (s) | {p}: measured (s)"
                                                                    for p in profiles) + " |",
             "|---|---|" + "---|---|" * len(profiles)]
    by_phase = {p: {item.phase: item for item in items} for p, items in budgets.items()}
    for name, *_ in PHASES:
        basis = by_phase[profiles[0]][name].basis
        lines.append(f"| {name} | {basis} | " + " | ".join(
            f"{by_phase[p][name].text()} | {cell(measured[p].get(name))}" for p in profiles) + " |")
    totals = {p: fence_total(budgets[p]) for p in profiles}
    fenced = {p: sum(v for k, v in measured[p].items() if k in ("detection", "decision", "fence delay",
                                                                  "fence action") and v is not None)
              for p in profiles}
    lines.append("| until fenced | detection + fence delay + fence action | " + " | ".join(
        f"{totals[p][0]:g} to {totals[p][1]:g} | {cell(fenced[p] if measured[p].get('fence action') else None)}"
        for p in profiles) + " |")
    lines.append("| **recovery** | fault to the client's first write | " + " | ".join(
        f"- | **{cell(recovery[p])}**" for p in profiles) + " |")
    return "\n".join(lines)


def budget_block(table: str) -> str:
    return f"{BUDGET_BEGIN}\n{table}\n{BUDGET_END}"


def between(text: str, begin: str = BUDGET_BEGIN, end: str = BUDGET_END) -> str | None:
    if begin not in text or end not in text:
        return None
    return text[text.index(begin) + len(begin):text.index(end)].strip("\n")


def replace_block(text: str, table: str) -> str:
    """`text` with its budget block's table replaced (the README's copy)."""
    if between(text) is None:
        raise ValueError(f"no {BUDGET_BEGIN} ... {BUDGET_END} block to replace")
    return text[:text.index(BUDGET_BEGIN)] + budget_block(table) + text[text.index(BUDGET_END) + len(BUDGET_END):]
