"""`make lab`: a real two-node cluster on this machine, failed over and over, measured.

    python -m lab.run            # the full lab: 6 crashes (alternating sides), a split, a monitor failure
    python -m lab.run --quick    # CI subset: one crash per side and a split
    python -m lab.run --teardown # only remove a lab a killed run left behind
    python -m lab.run --qdevice [--quick]  # with an arbitrator (lab.qnetd): crash, split, arbitrator down

Exits 1 if any committed row was lost, the shared filesystems were ever mounted on both nodes at once, a
scenario did not recover (or fenced the wrong node); 2 if the lab could not be built. Full runs write
lab/RESULTS.md.
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
import time

from components.render.firewall import TABLE
from lab import qnetd, report, scenarios, teardown
from lab.layout import Layout
from lab.lock import LabBusy, only_lab
from lab.session import LabError, LabSession

STACK = "lab"
FULL = [scenarios.crash] * 6 + [scenarios.split, scenarios.monitor_failure]
QUICK = [scenarios.crash, scenarios.crash, scenarios.split]


def _terminate(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")  # so the lab is torn down as on Ctrl-C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one crash per side and a split (CI)")
    parser.add_argument("--teardown", action="store_true", help="only remove a stale lab")
    parser.add_argument("--qdevice", action="store_true", help="with an arbitrator: corosync-qnetd in a third "
                        "namespace, corosync-qdevice on the nodes (lab.qnetd)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        with only_lab():
            if args.teardown:
                teardown.teardown()
                return 0
            return run_lab(args.quick, args.qdevice)
    except LabBusy as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2


def firewall_drops(handle) -> str:
    """The packets the node's firewall dropped, from the counters at the end of its chains."""
    listing = handle.inside(["nft", "list", "table", "inet", TABLE], check=False).stdout
    found = re.findall(r'counter packets (\d+) bytes \d+ comment "(dropped \w+)"', listing)
    return ", ".join(f"{what} {packets}" for packets, what in found) or "no table"


def run_lab(quick: bool, qdevice: bool = False) -> int:
    settings = qnetd.load_settings(qnetd.STACK if qdevice else STACK)
    layout = Layout(settings)
    plan = (qnetd.QUICK if quick else qnetd.FULL) if qdevice else (QUICK if quick else FULL)
    started = time.monotonic()
    results = []
    try:
        with LabSession(layout) as lab:
            print(f"lab up in {time.monotonic() - started:.0f} s; {len(plan)} scenarios", flush=True)
            for scenario in plan:
                result = scenario(lab)
                results.append(result)
                print(f"  {result.scenario:8} {result.victim}: recovery {report.seconds(result.recovery_s)} s, "
                      f"fenced {', '.join(result.fenced) or 'none'}, lost {result.rows_lost}, "
                      f"double mounts {result.double_mounts}, rejoined {result.rejoined}", flush=True)
                if not result.rejoined:
                    break  # the next scenario needs both nodes
            committed, samples = len(lab.committed()), lab.watch.samples
            for handle in lab.handles:  # what the host firewall refused: the cluster must not have needed it
                print(f"  firewall {handle.name}: {firewall_drops(handle)}", flush=True)
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 2
    line = report.summary(results, committed, samples)
    print(report.table(results))
    print(f"{line}; {time.monotonic() - started:.0f} s in all")
    if not quick and not qdevice:  # RESULTS.md is the lab profile's; the qdevice run prints its table
        report.write_results(results, line, f"`{STACK}`: token {settings.cluster.token_ms} ms, priority-fencing-delay "
                             f"{settings.cluster.priority_fencing_delay_s} s, stonith-timeout {settings.cluster.stonith_timeout_s} s")
    return 0 if results and all(r.ok for r in results) and len(results) == len(plan) else 1


if __name__ == "__main__":
    sys.exit(main())
