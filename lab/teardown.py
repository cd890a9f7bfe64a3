"""Tear a lab down completely: this run's at the end (also after a failure or Ctrl-C), and a stale one
left by a killed run before a new one starts. Everything is found by what marks it as the lab's:
processes by their lab network namespace, loop devices by their backing file in build/lab, mount points
by the record provision.py keeps. Each step tolerates what an earlier, interrupted teardown already did.
"""
from __future__ import annotations

import shutil
import time

from lab import disks, network, provision
from lab.layout import WORK
from lab.proc import kill_namespace, namespace_inode, run


def kill_lab_processes() -> None:
    """SIGKILL what still runs in a lab namespace: machines, daemons, BMCs, the client. A machine's end
    releases its mount namespace, and with it the LUNs' mounts."""
    for name in network.lab_namespaces():
        try:
            kill_namespace("net", namespace_inode(f"/run/netns/{name}"))
        except FileNotFoundError:
            continue


def unmount_lab_devices() -> None:
    """Mounts of the lab's loop devices left in this mount namespace (a seed mount of a killed run)."""
    loops = set(disks.lab_loop_devices())
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            if fields[fields.index("-") + 2] in loops:
                run(["umount", "--lazy", fields[4]], check=False)


def teardown(keep_logs: bool = True) -> None:
    kill_lab_processes()
    time.sleep(0.2)  # the kernel releases a dead machine's mount namespace (and its mounts) asynchronously
    network.destroy()
    unmount_lab_devices()
    disks.destroy()
    provision.remove_mount_points()
    if not keep_logs:
        shutil.rmtree(WORK, ignore_errors=True)
        return
    # Keep what explains a failure (logs); drop the LUN images and the secrets (authkey, BMC passwords).
    shutil.rmtree(WORK / "disks", ignore_errors=True)
    (WORK / "authkey").unlink(missing_ok=True)
    shutil.rmtree(WORK / "qnetd" / "etc-corosync", ignore_errors=True)  # the arbitrator's CA key (lab.qnetd)
    for disk in WORK.glob("nodes/*/disk"):
        for part in disk.iterdir():
            if part.name != "var-log":
                shutil.rmtree(part, ignore_errors=True)
