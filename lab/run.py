"""`make lab`: a real two-node cluster on this machine, failed over and over, measured.

    python -m lab.run            # the full lab: 6 crashes (alternating sides), a split, a monitor failure,
                                 # once per timing profile (lab.profiles: lab, then prod); then with an
                                 # arbitrator (lab.qnetd): 4 crashes, a split, the arbitrator down, per profile
    python -m lab.run --profile prod   # the full lab with one profile only
    python -m lab.run --quick    # CI subset: one crash per side and a split, lab profile
    python -m lab.run --teardown # only remove a lab a killed run left behind
    python -m lab.run --qdevice [--quick]  # only with an arbitrator (--no-qdevice: only without)

Exits 1 if any committed row was lost, the shared filesystems were ever mounted on both nodes at once, a
scenario did not recover (or fenced the wrong node); 2 if the lab could not be built. A full run of every
profile writes lab/RESULTS.md and the budget table's copy in lab/README.md; other runs print the same.
Each profile gets a lab of its own, built from nothing (lab.session).
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
import time

from components.render.firewall import TABLE
from lab import profiles, qnetd, report, scenarios, teardown
from lab.layout import Layout
from lab.lock import LabBusy, only_lab
from lab.session import LabError, LabSession

FULL = [scenarios.crash] * 6 + [scenarios.split, scenarios.monitor_failure]
QUICK = [scenarios.crash, scenarios.crash, scenarios.split]


def _terminate(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")  # so the lab is torn down as on Ctrl-C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one crash per side and a split (CI)")
    parser.add_argument("--profile", choices=profiles.PROFILES,
                        help="the cluster timeouts to run with (default: every profile; --quick: lab)")
    parser.add_argument("--teardown", action="store_true", help="only remove a stale lab")
    arbitration = parser.add_mutually_exclusive_group()
    arbitration.add_argument("--qdevice", action="store_true", help="only with an arbitrator: corosync-qnetd in a "
                             "third namespace, corosync-qdevice on the nodes (lab.qnetd)")
    arbitration.add_argument("--no-qdevice", action="store_true", help="only without an arbitrator")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        with only_lab():
            if args.teardown:
                teardown.teardown()
                return 0
            return run_lab(args.quick, profiles_to_run(args.quick, args.profile),
                           arbitrations_to_run(args.quick, args.profile, args.qdevice, args.no_qdevice))
    except LabBusy as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2


def profiles_to_run(quick: bool, profile: str | None) -> list[str]:
    """The profile asked for; else every profile, but the quick run (CI) stays on the lab's own."""
    if profile is not None:
        return [profile]
    return [profiles.STACK] if quick else list(profiles.PROFILES)


def firewall_drops(handle) -> str:
    """The packets the node's firewall dropped, from the counters at the end of its chains."""
    listing = handle.inside(["nft", "list", "table", "inet", TABLE], check=False).stdout
    found = re.findall(r'counter packets (\d+) bytes \d+ comment "(dropped \w+)"', listing)
    return ", ".join(f"{what} {packets}" for packets, what in found) or "no table"


def run_profile(run: report.ProfileRun, plan: list) -> None:
    """One profile's scenarios in a lab of their own; raises LabError if the lab could not be built."""
    started = time.monotonic()
    with LabSession(Layout(run.settings)) as lab:
        print(f"{profiles.describe(run.profile, run.settings)}: lab up in {time.monotonic() - started:.0f} s; "
              f"{len(plan)} scenarios", flush=True)
        for scenario in plan:
            result = scenario(lab)
            run.results.append(result)
            print(f"  {result.scenario:8} {result.victim}: recovery {report.seconds(result.recovery_s)} s, "
                  f"fenced {', '.join(result.fenced) or 'none'}, lost {result.rows_lost}, "
                  f"double mounts {result.double_mounts}, rejoined {result.rejoined}", flush=True)
            if not result.rejoined:
                break  # the next scenario needs both nodes
        run.committed, run.samples = len(lab.committed()), lab.watch.samples
        for handle in lab.handles:  # what the host firewall refused: the cluster must not have needed it
            print(f"  firewall {handle.name}: {firewall_drops(handle)}", flush=True)


def arbitrations_to_run(quick: bool, profile: str | None, qdevice: bool, no_qdevice: bool) -> list[bool]:
    """Without or with an arbitrator (False, True): the full run of every profile does both, so that RESULTS.md
    shows the four combinations side by side; --quick (CI) one of them, without unless --qdevice."""
    if qdevice or no_qdevice:
        return [qdevice]
    return [False] if quick or profile is not None else [False, True]


def _plan(quick: bool, qdevice: bool) -> list:
    if qdevice:
        return qnetd.QUICK if quick else qnetd.FULL
    return QUICK if quick else FULL


def run_lab(quick: bool, chosen: list[str], arbitrations: list[bool]) -> int:
    """Each chosen profile, for each arbitration (True: with an arbitrator and its scenarios, lab.qnetd)."""
    started, load_at_start = time.monotonic(), report.load_average()
    runs = []
    for qdevice in arbitrations:
        settings_of = qnetd.profile_settings if qdevice else profiles.profile_settings
        runs += [(report.ProfileRun(report.run_name(p, qdevice), settings_of(p), len(_plan(quick, qdevice))),
                  _plan(quick, qdevice)) for p in chosen]
    for run, plan in runs:
        try:
            run_profile(run, plan)
        except LabError as exc:
            print(f"lab: {exc}", file=sys.stderr)
            return 2
        print(report.profile_section(run))
    done = [run for run, _plan in runs]
    if len(done) > 1:
        print(report.side_by_side(done) + "\n")
    print(report.budget_table(done) + "\n")
    print(f"{time.monotonic() - started:.0f} s in all; load average {load_at_start} at the start, "
          f"{report.load_average()} at the end")
    if not quick and chosen == list(profiles.PROFILES) and arbitrations == [False, True]:  # the whole lab
        report.write_results(done, (load_at_start, report.load_average()))
    return 0 if all(run.ok for run in done) else 1


if __name__ == "__main__":
    sys.exit(main())
