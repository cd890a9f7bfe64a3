"""One lab at a time on a machine: namespaces, loop devices and the work dir have fixed names, and the
stale-lab cleanup at start would otherwise tear down a lab that is still running (`make lab` while
`make test` runs the quick lab, say)."""
from __future__ import annotations

import contextlib
import fcntl
import os

LOCK_FILE = "/var/tmp/bluemind-ha-lab.lock"


class LabBusy(RuntimeError):
    pass


@contextlib.contextmanager
def only_lab():
    fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabBusy(f"another lab run holds {LOCK_FILE}; wait for it to finish") from None
        yield
    finally:
        os.close(fd)  # releases the lock; the kernel does so too if this process is killed
