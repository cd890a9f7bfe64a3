"""A private tgtd on loopback for tests: its own iSCSI port and its own management (control) port, so it never
talks to, or collides with, a system tgtd or another test's."""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

TGTD_SOCKET_DIR = Path("/var/run/tgtd")
START_TIMEOUT_S = 10
# tgtd is killed after this long even if the test process dies without cleaning up.
MAX_LIFETIME_S = 300


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unused_control_port() -> int:
    # The control port only names tgtd's management socket (/var/run/tgtd/socket.N): pick an unused N.
    while True:
        port = random.randint(1000, 32767)  # tgtd refuses larger values
        if not (TGTD_SOCKET_DIR / f"socket.{port}").exists():
            return port


class Tgtd:
    """tgtd in the foreground in its own process group; `tgtadm`/`tgt_admin` talk to this one only."""

    def __init__(self, workdir: Path):
        self.port = free_tcp_port()
        self.control_port = _unused_control_port()
        self.log_path = workdir / "tgtd.log"
        self.process: subprocess.Popen | None = None

    @property
    def portal(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                ["timeout", "-s", "KILL", str(MAX_LIFETIME_S),
                 "tgtd", "-f", "-C", str(self.control_port), "--iscsi", f"portal={self.portal}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tgtd exited with {self.process.returncode}: {self.log_path.read_text()}")
            if self.tgtadm("--op", "show", "--mode", "sys", check=False).returncode == 0 and self._listening():
                return
            time.sleep(0.05)
        raise RuntimeError(f"tgtd did not come up within {START_TIMEOUT_S} s: {self.log_path.read_text()}")

    def _listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def tgtadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tgtadm", "-C", str(self.control_port), "--lld", "iscsi", *args],
                              capture_output=True, text=True, timeout=10, check=check)

    def load(self, targets_conf: Path) -> str:
        """`tgt-admin --execute` a targets.conf (as the storage host's tgt service does); returns its log."""
        result = subprocess.run(["tgt-admin", "-C", str(self.control_port), "-c", str(targets_conf), "--execute",
                                 "-v"], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"tgt-admin failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def show_targets(self) -> str:
        return self.tgtadm("--op", "show", "--mode", "target").stdout

    def stop(self) -> None:
        # tgtd ignores SIGTERM while it serves targets, and nothing here needs a clean shutdown: the
        # backing stores are throw-away files. Kill the group, then drop its management socket.
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
            self.process = None
        for name in (f"socket.{self.control_port}", f"socket.{self.control_port}.lock"):
            (TGTD_SOCKET_DIR / name).unlink(missing_ok=True)
