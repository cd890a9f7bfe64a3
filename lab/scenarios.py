"""The failures the lab inflicts, and what each one is measured by.

- crash: every process of the active node is killed without warning (lab.machine `crash`); its mounts and
  the VIP stay, as with a hung kernel. The survivor must fence it and take over.
- split: the active node's cable is cut at the hub. It loses its peer, the client and the BMCs; the
  passive node must fence it (priority-fencing-delay favours the active node, but it cannot reach any BMC).
  The cable is plugged back once the node was powered off, so it rejoins after its reboot.
- monitor: PostgreSQL's postmaster is killed on the active node. Pacemaker's monitor must notice and
  recover it in place; nobody is fenced.
Each is measured from the fault: recovery time (to the client's first commit after its first failure),
which nodes were powered off by their BMC (fence_ipmilan), committed rows missing afterwards, and the
double-mount samples in its window.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from lab import cluster, network, nodelogs
from lab.disks import PG_DATA
from lab.session import LabSession
from lab.timeline import Timeline

RECOVERY_TIMEOUT_S = 90
REJOIN_TIMEOUT_S = 120


@dataclass
class Result:
    scenario: str
    victim: str
    expected_fenced: tuple[str, ...]
    fenced: tuple[str, ...] = ()
    recovery_s: float | None = None
    rows_lost: int = 0
    double_mounts: int = 0
    rejoined: bool = False
    timeline: Timeline | None = None  # where the recovery's seconds went (lab.timeline)

    @property
    def right_fenced(self) -> bool:
        return self.fenced == self.expected_fenced

    @property
    def ok(self) -> bool:
        return (self.recovery_s is not None and self.rejoined and self.rows_lost == 0
                and self.double_mounts == 0 and self.right_fenced)


def _recovery(lab: LabSession, fault_at: float) -> float | None:
    """Seconds from the fault to the first commit after the client's first failure (an acknowledgement in
    flight at the fault is not a recovery)."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        failed_at = None
        for status, _, at in lab.attempts():
            if at < fault_at:
                continue
            if status == "fail" and failed_at is None:
                failed_at = at
            elif status == "ok" and failed_at is not None:
                return at - fault_at
        time.sleep(0.2)
    return None


def _powered_off(lab: LabSession, since: float) -> tuple[str, ...]:
    return tuple(sorted(h.name for h in lab.handles
                        if any(at >= since and what.startswith("off") for at, what in h.events())))


def _wait_powered_off(lab: LabSession, name: str, since: float, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if name in _powered_off(lab, since):
            return True
        time.sleep(0.2)
    return False


def _finish(lab: LabSession, result: Result, fault_at: float, committed_before: set[int],
            marked: nodelogs.Mark) -> Result:
    result.rejoined = cluster.wait_healthy(lab.handles, REJOIN_TIMEOUT_S) is not None
    result.timeline = nodelogs.collect(lab.layout, result.victim, marked, result.recovery_s)
    result.fenced = _powered_off(lab, fault_at)
    if result.recovery_s is not None:
        result.rows_lost = len(committed_before - lab.stored())
    result.double_mounts = lab.watch.doubles_between(fault_at, time.monotonic())
    return result


def crash(lab: LabSession) -> Result:
    victim = lab.active()
    result = Result("crash", victim, (victim,))
    committed_before, marked, fault_at = lab.committed(), nodelogs.mark(lab.layout), time.monotonic()
    lab.handle(victim).command("crash")
    result.recovery_s = _recovery(lab, fault_at)
    return _finish(lab, result, fault_at, committed_before, marked)


def split(lab: LabSession) -> Result:
    victim = lab.active()
    node = lab.layout.node(victim)
    result = Result("split", victim, (victim,))
    committed_before, marked, fault_at = lab.committed(), nodelogs.mark(lab.layout), time.monotonic()
    network.cut(node)
    try:
        result.recovery_s = _recovery(lab, fault_at)
        _wait_powered_off(lab, victim, fault_at, RECOVERY_TIMEOUT_S)
    finally:
        network.restore(node)
    return _finish(lab, result, fault_at, committed_before, marked)


def monitor_failure(lab: LabSession) -> Result:
    victim = lab.active()
    handle = lab.handle(victim)
    result = Result("monitor", victim, ())
    postmaster = handle.inside(["head", "-n1", f"{PG_DATA}/postmaster.pid"]).stdout.strip()
    committed_before, marked, fault_at = lab.committed(), nodelogs.mark(lab.layout), time.monotonic()
    handle.inside(["kill", "-KILL", postmaster])
    result.recovery_s = _recovery(lab, fault_at)
    return _finish(lab, result, fault_at, committed_before, marked)
