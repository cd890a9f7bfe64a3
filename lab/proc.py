"""Running commands with a deadline, and finding or killing the processes that live in a namespace."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class CommandFailed(RuntimeError):
    pass


def run(cmd: Sequence[str], timeout: float = 30, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run `cmd`, capture its output as text, fail with its stderr; never wait longer than `timeout`."""
    try:
        result = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(f"{' '.join(cmd)}: no answer within {timeout} s") from exc
    if check and result.returncode != 0:
        raise CommandFailed(f"{' '.join(cmd)}: exit {result.returncode}: {result.stderr.strip() or result.stdout.strip()}")
    return result


def namespace_inode(path: str | Path) -> int:
    """The inode that identifies a namespace, from its bind mount (/run/netns/x) or /proc/PID/ns/x."""
    return os.stat(path).st_ino


def pids_in_namespace(kind: str, inode: int, exclude: Sequence[int] = ()) -> list[int]:
    """Every live process whose `kind` namespace (net, mnt, ...) is `inode`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            if os.stat(f"/proc/{entry.name}/ns/{kind}").st_ino == inode:
                found.append(int(entry.name))
        except OSError:  # gone, or a zombie (its namespaces are already released)
            continue
    return found


def kill_namespace(kind: str, inode: int, exclude: Sequence[int] = (), timeout: float = 10) -> int:
    """SIGKILL every process of the namespace until none is left (a process may fork while we scan)."""
    killed = 0
    deadline = time.monotonic() + timeout
    while True:
        pids = pids_in_namespace(kind, inode, exclude)
        if not pids:
            return killed
        if time.monotonic() > deadline:
            raise CommandFailed(f"processes {pids} of {kind} namespace {inode} survive SIGKILL")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.02)
