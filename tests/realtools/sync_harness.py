"""What the configuration sync's real-tool tests share: daemons bounded in time, files written into a node's
tree, waiting for lsyncd, and one node's own /root and /etc (NodeFiles) in a private mount namespace."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from components.render.sync_scripts import sync_key
from components.settings import Node, Settings
from tests.conftest import require_tool
from tests.realtools.sandbox import Sandbox

WAIT_S = 15  # lsyncd's delay is 2 s; anything slower than this is a failure, not a slow machine
DAEMON_LIFETIME_S = 120  # no daemon a test starts outlives this, whatever happens to the test run

def write(root: Path, path: str, text: str) -> Path:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def wait_for(condition, what: str, logs: tuple[Path, ...] = ()) -> float:
    start = time.monotonic()
    while time.monotonic() - start < WAIT_S:
        if condition():
            return time.monotonic() - start
        time.sleep(0.2)
    seen = "".join(f"\n--- {log}:\n{log.read_text()[-3000:]}" for log in logs if log.exists())
    raise AssertionError(f"not within {WAIT_S}s: {what}{seen}")


@contextlib.contextmanager
def running_daemons() -> Iterator[Callable[[list[str], Path], subprocess.Popen]]:
    """Start a daemon in a session of its own, its output to a log file; bounded by `timeout` even if the
    test run itself is killed, and always stopped with everything it runs (lsyncd's rsync) after the test."""
    require_tool("timeout")
    started: list[subprocess.Popen] = []

    def start(argv: list[str], log: Path) -> subprocess.Popen:
        # stdin: a pipe nobody writes to, so what reads it waits (an rsync server for its client).
        with log.open("w") as out:
            started.append(subprocess.Popen(["timeout", str(DAEMON_LIFETIME_S), *argv], stdin=subprocess.PIPE,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        return started[-1]

    try:
        yield start
    finally:
        for process in reversed(started):  # clients before the servers they talk to
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)


@dataclasses.dataclass(frozen=True)
class NodeFiles:
    """What one node's scripts see as /root (a directory of the test, bind-mounted) and /etc (the machine's,
    under an overlay whose writable layer is the test's: the node's SSH host key in it, and whatever the
    scripts write), in a private mount namespace."""

    home: Path
    etc: Path

    @classmethod
    def create(cls, directory: Path) -> NodeFiles:
        home, etc = directory / "root", directory / "etc"
        home.mkdir(parents=True)
        (etc / "ssh").mkdir(parents=True)
        keygen(etc / "ssh" / "ssh_host_ed25519_key", f"root@{directory.name}")
        return cls(home, etc)

    @property
    def ssh_dir(self) -> Path:
        return self.home / ".ssh"

    @property
    def etc_ssh(self) -> Path:
        return self.etc / "ssh"

    @property
    def sandbox(self) -> Sandbox:
        return Sandbox(binds={"/root": self.home}, overlays={"/etc": self.etc})

    def command(self, *argv: str) -> list[str]:
        return self.sandbox.command(*argv)

    def run(self, script: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess:
        return self.sandbox.run(script, stdin, check)

    def sync_key_output(self, s: Settings, node: Node) -> str:
        """The node's sync-key output as pulumi-command hands it on: its final newline trimmed."""
        return self.run(sync_key(s, node)).stdout.removesuffix("\n")


def keygen(path: Path, comment: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True,
                   timeout=30)
    return path.with_name(path.name + ".pub").read_text().strip()


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def state(directory: Path) -> dict[str, tuple]:
    """The mode of `directory`, and each of its files' content, inode, mtime and mode."""
    files = {p.name: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns, mode(p))
             for p in sorted(directory.iterdir())}
    return {directory.name: (mode(directory),), **files}
