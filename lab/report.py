"""The results: printed after every run, and written to lab/RESULTS.md (and the budget table's copy in
lab/README.md) after a full run of every profile."""
from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from components.names import fs_id
from components.render.cib import render_cib
from components.render.corosync import render_corosync
from components.settings import Settings
from lab import timeline_report
from lab.budget import Item, budget
from lab.profiles import describe
from lab.scenarios import Result

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
README = Path(__file__).resolve().parent / "README.md"
PROJECT_README = Path(__file__).resolve().parent.parent / "README.md"  # the admin's: the same block, in its lab section


@dataclass
class ProfileRun:
    """One profile's lab (lab.profiles): its settings, its scenarios' results and the lab's counters."""
    profile: str
    settings: Settings
    planned: int
    results: list[Result] = field(default_factory=list)
    committed: int = 0
    samples: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.results) and len(self.results) == self.planned and all(r.ok for r in self.results)

    @property
    def budget(self) -> list[Item]:
        return budget(render_corosync(self.settings), render_cib(self.settings))


def run_name(profile: str, qdevice: bool) -> str:
    """What the results call a profile's run: `prod`, or `prod+qdevice` with an arbitrator."""
    return f"{profile}+qdevice" if qdevice else profile


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(results: list[Result]) -> str:
    lines = ["| # | scenario | victim | recovery (s) | fenced | right node fenced | rows lost | double mounts | rejoined |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(results, 1):
        lines.append(f"| {i} | {r.scenario} | {r.victim} | {seconds(r.recovery_s)} | {', '.join(r.fenced) or 'none'} | "
                     f"{'yes' if r.right_fenced else 'NO'} | {r.rows_lost} | {r.double_mounts} | "
                     f"{'yes' if r.rejoined else 'NO'} |")
    return "\n".join(lines)


def recoveries(results: list[Result], kinds: tuple[str, ...] | None = None) -> list[float]:
    return [r.recovery_s for r in results if r.recovery_s is not None and (kinds is None or r.scenario in kinds)]


def summary(results: list[Result], committed: int, samples: int) -> str:
    times = recoveries(results)
    median = f"{statistics.median(times):.1f} s" if times else "-"
    return (f"recovery median {median}, max {seconds(max(times, default=None))} s over {len(times)} recovered "
            f"of {len(results)} scenarios; rows lost {sum(r.rows_lost for r in results)} of {committed} committed; "
            f"double mounts {sum(r.double_mounts for r in results)} in {samples} samples; "
            f"{'PASS' if all(r.ok for r in results) else 'FAIL'}")


def side_by_side(runs: list[ProfileRun]) -> str:
    """Each profile's recovery median and max, over all its scenarios and over its fenced failovers."""
    lines = ["| profile | timeouts | scenarios | recovery median (s) | recovery max (s) | fenced failovers: median (s) "
             "| fenced failovers: max (s) | result |", "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        times, fenced = recoveries(run.results), recoveries(run.results, timeline_report.FENCED)
        lines.append(f"| {run.profile} | {describe(run.profile, run.settings).partition(': ')[2]} | "
                     f"{len(run.results)} of {run.planned} | {seconds(statistics.median(times) if times else None)} | "
                     f"{seconds(max(times, default=None))} | {seconds(statistics.median(fenced) if fenced else None)} | "
                     f"{seconds(max(fenced, default=None))} | {'PASS' if run.ok else 'FAIL'} |")
    return "\n".join(lines)


def budget_table(runs: list[ProfileRun]) -> str:
    fenced = {run.profile: recoveries(run.results, timeline_report.FENCED) for run in runs}
    return timeline_report.budget_table(
        {run.profile: run.budget for run in runs},
        {run.profile: timeline_report.phase_medians(run.results) for run in runs},
        {p: statistics.median(times) if times else None for p, times in fenced.items()})


def profile_section(run: ProfileRun) -> str:
    filesystems = frozenset(fs_id(lun) for lun in run.settings.storage.luns)
    return (f"## Profile {describe(run.profile, run.settings)}\n\n"
            f"Result: {summary(run.results, run.committed, run.samples)}\n\n"
            f"{table(run.results)}\n\n"
            "Timeline, seconds since the fault (the survivor's corosync and pacemaker logs, the client's clock; "
            "fence delay is the fencer's announced wait):\n\n"
            f"{timeline_report.timeline_table(run.results)}\n\n"
            "Each group member's start (the controller's request to its ok), over every scenario:\n\n"
            f"{timeline_report.member_table(run.results, filesystems)}\n")


def machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.node()}, Linux {platform.release()}, {os.cpu_count()} cores, {memory_gb:.0f} GB RAM"


def load_average() -> str:
    return " / ".join(f"{load:.2f}" for load in os.getloadavg())


def document(runs: list[ProfileRun], loads: tuple[str, str]) -> str:
    return ("# Failover lab: measured results\n\n"
            "Written by `make lab` (`python -m lab.run`); see lab/README.md for what each column means.\n\n"
            f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}\n"
            f"- Machine: {machine()}\n"
            f"- Load average (1 / 5 / 15 min): {loads[0]} at the start, {loads[1]} at the end (a shared machine: "
            "other work's load stretches every phase)\n\n"
            "The profiles side by side, then each phase's budget (what the rendered corosync.conf and CIB "
            "impose, lab/budget.py) beside its median over the profile's fenced failovers (crash, split); "
            "lab/README.md holds a copy.\n\n"
            f"{timeline_report.budget_block(headline(runs))}\n\n"
            + "\n".join(profile_section(run) for run in runs))


def headline(runs: list[ProfileRun]) -> str:
    """What lab/README.md shows of the results: the profiles side by side and the budget table."""
    return f"{side_by_side(runs)}\n\n{budget_table(runs)}"


def write_results(runs: list[ProfileRun], loads: tuple[str, str]) -> None:
    RESULTS.write_text(document(runs, loads))
    for readme in (README, PROJECT_README):
        readme.write_text(timeline_report.replace_block(readme.read_text(), headline(runs)))
