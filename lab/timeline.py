"""Where a failover's seconds go: the phases, read from the survivor's corosync and pacemaker logs.

Pure: lines in, a `Timeline` out (seconds since the fault, on the wall clock the daemons log with; the lab
records the fault's wall-clock time next to its monotonic one). Log lines carry no year, and pacemaker's
`Dec 01 07:19:27.074` has milliseconds; corosync's has them only with `timestamp: hires` (the lab's
transform turns it on), otherwise whole seconds, so such an event may read up to 1 s early.

The milestones, each the first of its kind after the fault (None when it did not happen):
- token_lost: corosync `A processor failed, forming new configuration` (the token timed out; consensus
  starts);
- membership: corosync `A new membership (...) was formed. Members left: ...` (consensus over);
- node_lost: pacemaker `Node <victim> state is now lost`;
- monitor_failed: pacemaker-controld `Result of monitor operation for <member> on <node>: <not ok>`;
- fence_requested: pacemaker-controld `Requesting fencing (reboot) of node <victim>`;
- fence_delay_s: pacemaker-fenced `Delaying 'reboot' action targeting <victim> ... for <N>s` (priority
  delay plus the device's pcmk_delay_base), a duration;
- fence_done: pacemaker-fenced `Operation 'reboot' targeting <victim> by <node> ...: OK`;
- starts: per group member, `Requesting local execution of start operation for <member> on <node>` and
  `Result of start operation for <member> on <node>: ok`;
- first_write: the lab client's first commit after its first failure (lab.client; not in any log).
"""
from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

STAMP = re.compile(r"^(?P<month>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<clock>\d\d:\d\d:\d\d)(?P<fraction>\.\d{1,6})? ")


def stamp(line: str, fault_wall: float) -> tuple[float, float] | None:
    """(epoch seconds, resolution) of a log line's leading timestamp, local time, in the year that puts it
    nearest the fault (a lab run across New Year); None for a line without one (a continuation)."""
    found = STAMP.match(line)
    if found is None:
        return None
    year = time.localtime(fault_wall).tm_year
    text = f"{found['month']} {found['day']} {found['clock']}"
    candidates = []
    for y in (year - 1, year, year + 1):
        try:
            candidates.append(datetime.strptime(f"{y} {text}", "%Y %b %d %H:%M:%S").timestamp())
        except ValueError:  # Feb 29 in a year without it
            continue
    if not candidates:
        return None
    whole = min(candidates, key=lambda t: abs(t - fault_wall))
    fraction = found["fraction"]
    return (whole + float(fraction), 10.0 ** -(len(fraction) - 1)) if fraction else (float(whole), 1.0)


@dataclass(frozen=True)
class MemberStart:
    member: str
    begun: float | None  # seconds since the fault: the controller asked its executor to start it
    started: float  # the start returned ok

    @property
    def duration(self) -> float | None:
        return None if self.begun is None else self.started - self.begun


@dataclass(frozen=True)
class Timeline:
    token_lost: float | None = None
    membership: float | None = None
    node_lost: float | None = None
    monitor_failed: float | None = None
    fence_requested: float | None = None
    fence_delay_s: float | None = None
    fence_done: float | None = None
    starts: tuple[MemberStart, ...] = field(default_factory=tuple)
    first_write: float | None = None

    def started(self, member: str) -> float | None:
        return next((s.started for s in self.starts if s.member == member), None)

    @property
    def group_begun(self) -> float | None:
        """The first member's start request: the new transition is under way."""
        begun = [s.begun for s in self.starts if s.begun is not None]
        return min(begun, default=None)

    @property
    def group_started(self) -> float | None:
        return max((s.started for s in self.starts), default=None)

    @property
    def fence_action_begun(self) -> float | None:
        """When the fence agent ran: the request plus the fencer's announced delay. The fencer announces only
        a delay it waits: a fence done with none announced waited none (an arbitrated stack sets no delay)."""
        if self.fence_requested is None or (self.fence_delay_s is None and self.fence_done is None):
            return None
        return self.fence_requested + (self.fence_delay_s or 0.0)


def _patterns(victim: str, node: str) -> dict[str, re.Pattern]:
    v, n = re.escape(victim), re.escape(node)
    return {
        "token_lost": re.compile(r"\bcorosync\b.*A processor failed, forming new configuration"),
        "membership": re.compile(r"\bcorosync\b.*A new membership \(\S+\) was formed\. Members left:"),
        "node_lost": re.compile(rf"pacemaker-controld.*Node {v} state is now lost"),
        "monitor_failed": re.compile(rf"pacemaker-controld.*Result of monitor operation for (?P<member>\S+) on {n}: "
                                     r"(?!ok\b|Cancelled\b)"),  # a stop cancels the recurring monitor
        "fence_requested": re.compile(rf"pacemaker-controld.*Requesting fencing \(\w+\) of node {v}\b"),
        "fence_delay_s": re.compile(rf"pacemaker-fenced.*Delaying '\w+' action targeting {v} using \S+ for "
                                    r"(?P<seconds>\d+)s"),
        "fence_done": re.compile(rf"pacemaker-fenced.*Operation '\w+' targeting {v} by \S+ for \S+: OK"),
        "begun": re.compile(rf"pacemaker-controld.*Requesting local execution of start operation for (?P<member>\S+) "
                            rf"on {n}\b"),
        "started": re.compile(rf"pacemaker-controld.*Result of start operation for (?P<member>\S+) on {n}: ok\b"),
    }


def extract(lines: Iterable[str], *, victim: str, node: str, members: Sequence[str], fault_wall: float,
            until_wall: float | None = None) -> Timeline:
    """The timeline of one failover from `node`'s log lines (corosync's and pacemaker's, in any order):
    `victim` is the node that failed, `members` the group's ids (other resources' starts are left out)."""
    patterns = _patterns(victim, node)
    found: dict[str, float] = {}
    begun: dict[str, float] = {}
    started: dict[str, float] = {}
    for line in lines:
        matches = [(name, found_) for name, pattern in patterns.items() if (found_ := pattern.search(line))]
        when = stamp(line, fault_wall) if matches else None  # parse the time of the lines that matter only
        if when is None:
            continue
        at, resolution = when
        # A timestamp truncated to the second may read up to `resolution` before the event itself.
        if at + resolution <= fault_wall or (until_wall is not None and at > until_wall):
            continue
        since = max(at - fault_wall, 0.0)
        for name, match in matches:
            member = match.groupdict().get("member")
            if member is not None and member not in members:
                continue  # not the group's: ping, a fence device
            if name == "begun":
                begun.setdefault(member, since)
            elif name == "started":
                started.setdefault(member, since)
            elif name == "fence_delay_s":
                found.setdefault(name, float(match["seconds"]))
            else:  # corosync's and pacemaker's lines come file after file: keep the earliest
                found[name] = min(found.get(name, since), since)
    starts = tuple(MemberStart(m, begun.get(m) if begun.get(m, 0.0) <= started[m] else None, started[m])
                   for m in sorted(started, key=started.get))
    return Timeline(**found, starts=starts)


def with_first_write(timeline: Timeline, first_write: float | None) -> Timeline:
    return replace(timeline, first_write=first_write)


# -- the phases: durations between milestones ----------------------------------------------------------
# (name, from, to, what it is) over Timeline attributes; "fault" is 0.
PHASES = (
    ("detection", "fault", "membership", "the token times out, then consensus: corosync forms a membership without the node"),
    ("decision", "membership", "fence_requested", "pacemaker's controller and scheduler decide to fence"),
    ("fence delay", "fence_requested", "fence_action_begun", "priority-fencing-delay (+ pcmk_delay_base for the primary)"),
    ("fence action", "fence_action_begun", "fence_done", "fence_ipmilan: power off, confirm off, power on"),
    ("to the group start", "fence_done", "group_begun", "the fence is recorded and a new transition starts"),
    # PostgreSQL takes writes before its agent's start returns (pgsql checks it after pg_ctl): the phase ends
    # at the client's first write, which comes before "PostgreSQL up" in the log.
    ("group start", "group_begun", "first_write", "the members one after the other, up to PostgreSQL taking the "
     "client's first write"),
)


def milestone(timeline: Timeline, name: str) -> float | None:
    return 0.0 if name == "fault" else getattr(timeline, name)


def phase_durations(timeline: Timeline) -> dict[str, float | None]:
    """Each phase's duration (None when either end is missing: no fence in a monitor failure)."""
    durations = {}
    for name, start, end, _ in PHASES:
        a, b = milestone(timeline, start), milestone(timeline, end)
        durations[name] = None if a is None or b is None else b - a
    return durations


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None
