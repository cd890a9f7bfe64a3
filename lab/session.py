"""One lab, from nothing to torn down: `with LabSession(layout) as lab:` builds the namespaces, LUNs, node
disks, machines, BMCs, starts the cluster and the client, and on exit (normal, exception, Ctrl-C) stops
the client, powers the nodes off, stops the BMCs and removes everything (lab.teardown)."""
from __future__ import annotations

import contextlib
import os
import subprocess
import time

from components.render.firewall import TABLE
from lab import bmcs, cluster, disks, network, provision, teardown
from lab.layout import HUB, PYTHON, ROOT, WORK, Layout
from lab.mounts import MountWatch
from lab.nodes import NodeHandle
from lab.proc import run

START_TIMEOUT_S = 120


class LabError(RuntimeError):
    pass


class LabSession:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.handles = [NodeHandle(layout, n) for n in layout.nodes]
        self.watch: MountWatch | None = None
        self.client: subprocess.Popen | None = None
        self.stack = contextlib.ExitStack()

    def handle(self, name: str) -> NodeHandle:
        return next(h for h in self.handles if h.name == name)

    # -- build ------------------------------------------------------------------------------------------
    def __enter__(self) -> LabSession:
        teardown.teardown(keep_logs=False)  # a stale lab of a killed run
        WORK.mkdir(parents=True)
        self.stack.callback(teardown.teardown)
        try:
            self._build()
        except BaseException:
            self.stack.close()
            raise
        return self

    def _build(self) -> None:
        network.create(self.layout)
        disks.create(self.layout)
        provision.create_mount_points(self.layout)
        provision.authkey(self.layout)
        passwords = provision.bmc_passwords(self.layout)
        for node in self.layout.nodes:
            provision.node_disk(self.layout, node, passwords)
        from lab import qnetd  # the qdevice profile (lab.qnetd), which builds on this module
        self.arbitrator = qnetd.provision(self.layout, self.stack)
        for handle in self.handles:
            self.stack.callback(handle.stop)
            handle.start()
        bmcs.start_all(self.layout, passwords, self.stack)
        for handle in self.handles:
            handle.command("on 0")  # the lab starts with both servers booted
        if cluster.wait_healthy(self.handles, START_TIMEOUT_S) is None:
            raise LabError(f"the cluster did not start its group within {START_TIMEOUT_S} s; logs in {WORK}/nodes")
        for handle in self.handles:  # every node runs with its host firewall on (lab.machine, at power-on)
            if handle.inside(["nft", "list", "table", "inet", TABLE], check=False).returncode != 0:
                raise LabError(f"{handle.name}: its host firewall (table inet {TABLE}) is not loaded")
        self.watch = MountWatch(self.handles)
        self.watch.start()
        self.stack.callback(self.watch.stop)
        self._start_client()

    def _start_client(self) -> None:
        self.client = subprocess.Popen(
            ["ip", "netns", "exec", HUB, str(PYTHON), "-m", "lab.client", "write", self.layout.vip,
             str(self.layout.client_log)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL,
            stderr=open(WORK / "client.err", "wb"), start_new_session=True)
        self.stack.callback(self._stop_client)
        deadline = time.monotonic() + 30
        while not self.committed():
            if self.client.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"the client committed nothing through the VIP; see {WORK / 'client.err'}")
            time.sleep(0.2)

    def _stop_client(self) -> None:
        self.client.kill()
        self.client.wait(timeout=10)

    def __exit__(self, *exc) -> None:
        self.stack.close()

    # -- observe ----------------------------------------------------------------------------------------
    def attempts(self) -> list[tuple[str, int, float]]:
        """The client's log: (ok|fail, n, time) per attempt."""
        if not self.layout.client_log.exists():
            return []
        entries = []
        for line in self.layout.client_log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:  # the last line may be half written
                entries.append((parts[0], int(parts[1]), float(parts[2])))
        return entries

    def committed(self) -> set[int]:
        return {n for status, n, _ in self.attempts() if status == "ok"}

    def stored(self) -> set[int]:
        out = run(["ip", "netns", "exec", HUB, str(PYTHON), "-m", "lab.client", "rows", self.layout.vip],
                  cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=30).stdout
        return {int(n) for n in out.split()}

    def active(self) -> str:
        state = cluster.state(self.handles)
        if state is None or len(state.group_nodes) != 1:
            raise LabError(f"no single active node: {state}")
        return next(iter(state.group_nodes))
