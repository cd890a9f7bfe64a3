"""The results table: printed after every run, and written to lab/RESULTS.md after a full run."""
from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

from lab.scenarios import Result

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


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


def summary(results: list[Result], committed: int, samples: int) -> str:
    times = [r.recovery_s for r in results if r.recovery_s is not None]
    median = f"{statistics.median(times):.1f} s" if times else "-"
    return (f"recovery median {median}, max {seconds(max(times, default=None))} s over {len(times)} recovered "
            f"of {len(results)} scenarios; rows lost {sum(r.rows_lost for r in results)} of {committed} committed; "
            f"double mounts {sum(r.double_mounts for r in results)} in {samples} samples; "
            f"{'PASS' if all(r.ok for r in results) else 'FAIL'}")


def machine() -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.node()}, Linux {platform.release()}, {os.cpu_count()} cores, {memory_gb:.0f} GB RAM"


def write_results(results: list[Result], summary_line: str, settings_note: str) -> None:
    RESULTS.write_text(
        "# Failover lab: measured results\n\n"
        "Written by `make lab` (`python -m lab.run`); see lab/README.md for what each column means.\n\n"
        f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}\n"
        f"- Machine: {machine()}\n"
        f"- Stack: {settings_note}\n"
        f"- Result: {summary_line}\n\n"
        f"{table(results)}\n")
