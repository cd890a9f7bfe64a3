"""The SAN's LUNs, stood in for by loop devices: one small sparse file per LUN, with the filesystem the
program creates on a fresh LUN (`mkfs.<fstype> -L <the LUN's fs_label>`, see
components/render/node_scripts.py). The LUN of /var/lib/postgresql is seeded with a PostgreSQL 15 cluster,
as the program seeds it with what the package installed there. Nothing mounts a LUN afterwards except the
Filesystem agent inside a node.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from components.names import by_label_device, by_path_device
from components.settings import Lun
from lab.layout import WORK, Layout
from lab.proc import run

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_DIRECTORY = "/var/lib/postgresql"
PG_DATA = f"{PG_DIRECTORY}/15/main"
LUN_MB = 32
PG_LUN_MB = 320
# by-path and by-label names -> loop device, read by each machine for its /dev/disk (the udev names the CIB and
# the host steps use)
MAPPING = WORK / "luns.json"


def create(layout: Layout) -> dict[str, str]:
    (WORK / "disks").mkdir(parents=True, exist_ok=True)
    mapping = {}
    for lun in layout.luns:
        image = WORK / "disks" / f"lun-{lun.number}.img"
        with open(image, "wb") as f:
            f.truncate((PG_LUN_MB if lun.directory == PG_DIRECTORY else LUN_MB) << 20)
        loop = run(["losetup", "--find", "--show", str(image)]).stdout.strip()
        mapping[by_path_device(layout.settings, lun)] = loop
        mapping[by_label_device(lun)] = loop  # what the Filesystem resources mount
        mkfs(layout, lun, loop)
        if lun.directory == PG_DIRECTORY:
            seed_postgresql(loop, layout)
    MAPPING.write_text(json.dumps(mapping, indent=1))
    return mapping


def mkfs(layout: Layout, lun: Lun, device: str) -> None:
    fstype = layout.settings.storage.fstype
    run([f"mkfs.{fstype}", "-q", "-L", lun.fs_label, device], timeout=60)


def seed_postgresql(device: str, layout: Layout) -> None:
    """A fresh cluster, configuration inside the data directory, reachable from the subnet (trust: a lab)."""
    mount_point = Path(tempfile.mkdtemp(prefix="bmlab-seed-"))
    mount_point.chmod(0o755)
    run(["mount", device, str(mount_point)])
    try:
        data = mount_point / PG_DATA.removeprefix(PG_DIRECTORY + "/")
        data.mkdir(parents=True)
        run(["chown", "-R", "postgres:postgres", str(mount_point)])
        run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data), "-E", "UTF8",
             "--auth-local=trust", "--auth-host=reject", "-U", "postgres"], timeout=120)
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("listen_addresses = '*'\nunix_socket_directories = '/run/postgresql'\n")
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {layout.settings.network.subnet} trust\n")
    finally:
        run(["umount", str(mount_point)])
        mount_point.rmdir()


def lab_loop_devices() -> list[str]:
    """Loop devices backed by a file of this lab's work dir (also those of a killed run)."""
    listing = json.loads(run(["losetup", "--list", "--json"]).stdout or '{"loopdevices": []}')
    return [d["name"] for d in listing["loopdevices"]
            if (d.get("back-file") or "").startswith(str(WORK))]


def destroy() -> None:
    for device in lab_loop_devices():
        run(["losetup", "--detach", device], check=False)
    if MAPPING.exists():
        os.unlink(MAPPING)
