"""The nodes' corosync and pacemaker logs, as the runner reads them from the nodes' disks (lab.machine
bind-mounts each node's work dir over its /var/log), and each scenario's timeline taken from them.

At the fault the runner marks the wall clock and where each log ends (`mark`); after the scenario it reads
what the survivor logged since (`collect`) and hands the lines to lab.timeline, which is pure.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from components.names import group_member_ids
from components.services import POSTGRESQL
from lab.layout import Layout, NodeLayout
from lab.timeline import Timeline, extract, with_first_write

LOGS = ("var-log/corosync/corosync.log", "var-log/pacemaker/pacemaker.log")


def log_files(node: NodeLayout) -> list[Path]:
    return [node.disk / log for log in LOGS]


@dataclass(frozen=True)
class Mark:
    wall: float  # time.time() at the fault: the clock the daemons' log timestamps are on
    offsets: dict[Path, int]  # each log's size at the fault


def mark(layout: Layout) -> Mark:
    offsets = {path: path.stat().st_size if path.exists() else 0 for n in layout.nodes for path in log_files(n)}
    return Mark(time.time(), offsets)


def lines_since(node: NodeLayout, since: Mark) -> list[str]:
    lines: list[str] = []
    for path in log_files(node):
        if path.exists():
            with open(path, "rb") as log:
                log.seek(since.offsets.get(path, 0))
                lines += log.read().decode(errors="replace").splitlines()
    return lines


def collect(layout: Layout, victim: str, since: Mark, first_write: float | None) -> Timeline:
    """The timeline seen by the node that runs the group afterwards: the one whose log shows the group's
    members started (the victim itself after a restart in place), else the victim's peer."""
    members = group_member_ids(layout.settings)
    until = time.time()
    timelines = {n.name: extract(lines_since(n, since), victim=victim, node=n.name, members=members,
                                 fault_wall=since.wall, until_wall=until) for n in layout.nodes}
    runner = next((name for name, t in timelines.items() if t.started(POSTGRESQL.rsc_id) is not None),
                  layout.peer(victim).name)
    return with_first_write(timelines[runner], first_write)
