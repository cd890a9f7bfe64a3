"""The runner's handle on one node's machine (lab.machine): start it, power it, look inside it."""
from __future__ import annotations

import os
import subprocess
import time

from lab.control import send
from lab.layout import PYTHON, ROOT, Layout, NodeLayout
from lab.proc import run


class NodeHandle:
    def __init__(self, layout: Layout, node: NodeLayout):
        self.layout, self.node = layout, node
        self.process: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return self.node.name

    def start(self, timeout: float = 20) -> None:
        self.node.work.mkdir(parents=True, exist_ok=True)
        with open(self.node.work / "machine.log", "ab") as machine_log:
            self.process = subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{self.node.netns}", "--",
                 "unshare", "--mount", "--uts", "--propagation", "private", "--",
                 str(PYTHON), "-m", "lab.machine", self.layout.settings.stack, self.name],
                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL,
                stdout=machine_log, stderr=machine_log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.node.machine_socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"machine {self.name} did not come up: see {self.node.work / 'machine.log'}")
            time.sleep(0.1)

    def command(self, what: str, timeout: float = 60) -> str:
        return send(self.node.machine_socket, what, timeout)

    def stop(self) -> None:
        """Power off (the machine does it on SIGTERM) and end the machine process."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def inside(self, cmd: list[str], timeout: float = 30, check: bool = True):
        """Run `cmd` in the node: its mount, UTS and network namespaces (pacemaker's IPC needs all three)."""
        return run(["nsenter", "-t", str(self.process.pid), "--mount", "--uts", "--net", "--", *cmd],
                   timeout=timeout, check=check)

    def mountinfo(self) -> str:
        """The node's mount table, read without spawning anything (the machine pins the namespace)."""
        with open(f"/proc/{self.process.pid}/mountinfo") as f:
            return f.read()

    def events(self) -> list[tuple[float, str]]:
        if not self.node.power_log.exists():
            return []
        lines = self.node.power_log.read_text().splitlines()
        return [(float(t), what) for t, _, what in (line.partition(" ") for line in lines)]
