"""The double-mount watch: several times a second, which LUNs each node's mount namespace holds.

Reads /proc/<machine>/mountinfo of both nodes (the machine pins each node's mount namespace, so this also
sees the mounts a crashed node still holds), so a sample costs no process. A LUN mounted in both namespaces
in the same sample is a double mount.
"""
from __future__ import annotations

import json
import threading
import time

from lab.disks import MAPPING
from lab.nodes import NodeHandle

INTERVAL_S = 0.2


class MountWatch(threading.Thread):
    def __init__(self, handles: list[NodeHandle]):
        super().__init__(name="mount-watch", daemon=True)
        self.handles = handles
        self.loops = set(json.loads(MAPPING.read_text()).values())
        self.samples = 0
        self.doubles: list[tuple[float, frozenset[str]]] = []  # (time, LUN devices mounted on both nodes)
        self.stopping = threading.Event()

    def mounted(self, handle: NodeHandle) -> set[str]:
        devices = set()
        for line in handle.mountinfo().splitlines():
            fields = line.split()
            source = fields[fields.index("-") + 2]
            if source in self.loops:
                devices.add(source)
        return devices

    def run(self) -> None:
        while not self.stopping.wait(INTERVAL_S):
            now = time.monotonic()
            held = [self.mounted(h) for h in self.handles]
            both = frozenset(set.intersection(*held))
            self.samples += 1
            if both:
                self.doubles.append((now, both))

    def doubles_between(self, start: float, end: float) -> int:
        return sum(1 for t, _ in self.doubles if start <= t <= end)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
