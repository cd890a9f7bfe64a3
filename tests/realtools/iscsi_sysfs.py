"""A node's iSCSI initiator as the kernel shows it in sysfs and /dev, for ocf:bluemind-ha:iscsi_watch.

This machine's kernel has no iSCSI initiator (no iscsi_tcp: see /work/shared/reference/real-tools.md), so
no real session ever appears under /sys/class/iscsi_session. `KernelView` lays out, in a test directory,
the files the kernel keeps for logged-in sessions (the layout of Linux's scsi_transport_iscsi and
drivers/scsi), and the agent reads it through its `sysfs_root` parameter:

  class/iscsi_session/session<N>/{targetname,state}          state: LOGGED_IN, FAILED (recovering), FREE
  class/iscsi_connection/connection<N>:0/{persistent_address,persistent_port}
  block/<sdX>/device/state                                    running, blocked, transport-offline, offline
  dev/<sdX> (a block device node) and dev/disk/by-path/ip-<portal>-iscsi-<target>-lun-<n> -> ../../<sdX>
  block/dm-<N>/slaves/<sdX> -> ../../<sdX>, dev/dm-<N> and dev/mapper/<alias> -> ../dm-<N>   (dm-multipath)
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

LOOP_MAJOR = 7  # the device numbers of the nodes are never opened: any block major will do


class KernelView:
    def __init__(self, root: Path, target: str):
        self.root, self.target = root, target
        self.sysfs = root / "sys"
        self.dev = root / "dev"
        self.sessions = 0
        self.disks = 0
        self.maps = 0

    def login(self, portal: str, state: str = "LOGGED_IN") -> int:
        """A session to the target through `portal` (address:port), as iscsid leaves it after a login."""
        self.sessions += 1
        n = self.sessions
        session = self.sysfs / "class/iscsi_session" / f"session{n}"
        session.mkdir(parents=True)
        (session / "targetname").write_text(self.target + "\n")
        (session / "state").write_text(state + "\n")
        connection = self.sysfs / "class/iscsi_connection" / f"connection{n}:0"
        connection.mkdir(parents=True)
        address, port = portal.rsplit(":", 1)
        (connection / "persistent_address").write_text(address + "\n")
        (connection / "persistent_port").write_text(port + "\n")
        return n

    def set_session_state(self, n: int, state: str) -> None:
        (self.sysfs / "class/iscsi_session" / f"session{n}" / "state").write_text(state + "\n")

    def logout(self, n: int) -> None:
        for path in (self.sysfs / "class/iscsi_session" / f"session{n}",
                     self.sysfs / "class/iscsi_connection" / f"connection{n}:0"):
            for child in path.iterdir():
                child.unlink()
            path.rmdir()

    def lun(self, by_path: str, state: str = "running") -> Path:
        """A LUN's disk (sdX, its SCSI device state) and its by-path link; returns the link, under dev/."""
        disk = f"sd{chr(ord('a') + self.disks)}"
        self.disks += 1
        self.dev.mkdir(parents=True, exist_ok=True)
        node = self.dev / disk
        os.mknod(node, 0o600 | stat.S_IFBLK, os.makedev(LOOP_MAJOR, 200 + self.disks))
        device = self.sysfs / "block" / disk / "device"
        device.mkdir(parents=True)
        (device / "state").write_text(state + "\n")
        link = self.dev / by_path.removeprefix("/dev/")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(node, link.parent))
        return link

    def set_disk_state(self, link: Path, state: str) -> None:
        (self.sysfs / "block" / link.resolve().name / "device/state").write_text(state + "\n")

    def multipath_map(self, alias: str, paths: list[Path]) -> Path:
        """A dm-multipath map over the disks behind `paths` (by-path links); returns dev/mapper/<alias>."""
        name = f"dm-{self.maps}"
        self.maps += 1
        os.mknod(self.dev / name, 0o600 | stat.S_IFBLK, os.makedev(LOOP_MAJOR, 100 + self.maps))
        slaves = self.sysfs / "block" / name / "slaves"
        slaves.mkdir(parents=True)
        for path in paths:
            (slaves / path.resolve().name).symlink_to(Path("../..") / path.resolve().name)
        link = self.dev / "mapper" / alias
        link.parent.mkdir(exist_ok=True)
        link.symlink_to(Path("..") / name)
        return link
