"""What `pulumi up` would have put on each node's disk, written into the node's work dir instead:
the rendered corosync.conf (lab.transform: with millisecond log timestamps), the authkey (corosync-keygen),
the lab CIB (lab.transform) as the first CIB, the firewall's ruleset (lab.transform: the rendered one, plus
the lab client's PostgreSQL), and the BMC password files the fence devices' `password_script` reads. Also the
empty mount points the node namespaces need on this machine's root filesystem, recorded so teardown removes them.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

from components.names import AUTHKEY_PATH, bmc_password_file
from components.render.cib import render_cib
from components.render.corosync import render_corosync
from components.render.firewall import RULES_PATH
from lab.layout import BMC_PASSWORD_LENGTH, WORK, Layout, NodeLayout
from lab.machine import DEV_DISK, NODE_DISK
from lab.proc import run
from lab.transform import lab_cib, lab_corosync, lab_ruleset

CREATED_DIRS = WORK / "created-dirs.json"
HACLUSTER = ("hacluster", "haclient")


def bmc_passwords(layout: Layout) -> dict[str, str]:
    return {n.name: secrets.token_urlsafe(BMC_PASSWORD_LENGTH)[:BMC_PASSWORD_LENGTH] for n in layout.nodes}


def create_mount_points(layout: Layout) -> None:
    """Bind and mount targets must exist; those this machine lacks are created once and removed at teardown."""
    wanted = list(NODE_DISK.values()) + [DEV_DISK] + [lun.directory for lun in layout.luns]
    created = []
    for directory in wanted:
        missing = []
        path = Path(directory)
        while not path.exists():
            missing.append(path)
            path = path.parent
        for path in reversed(missing):
            path.mkdir(mode=0o755)
            created.append(str(path))
    CREATED_DIRS.write_text(json.dumps(created))


def remove_mount_points() -> None:
    if not CREATED_DIRS.exists():
        return
    for directory in reversed(json.loads(CREATED_DIRS.read_text())):
        try:
            os.rmdir(directory)
        except OSError:
            pass  # gone already, or no longer empty: not ours to delete any more
    CREATED_DIRS.unlink()


def _owned_dir(path: Path, mode: int, owner: tuple[str, str] = ("root", "root")) -> None:
    path.mkdir(parents=True, exist_ok=True)
    shutil.chown(path, *owner)
    path.chmod(mode)


def _write(path: Path, text: str | bytes, mode: int, owner: tuple[str, str] = ("root", "root")) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    shutil.chown(path, *owner)
    path.chmod(mode)


def on_disk(node: NodeLayout, path: str) -> Path:
    """Where the node's file `path` (as the node sees it) lives in its work dir."""
    for directory, target in NODE_DISK.items():
        if path.startswith(target + "/"):
            return node.disk / directory / path.removeprefix(target + "/")
    raise ValueError(f"{path} is not on a node's disk (lab.machine.NODE_DISK)")


def node_disk(layout: Layout, node: NodeLayout, passwords: dict[str, str]) -> None:
    for directory in NODE_DISK:
        _owned_dir(node.disk / directory, 0o755)
    for sub in ("cib", "pengine", "blackbox", "cores"):
        _owned_dir(on_disk(node, f"/var/lib/pacemaker/{sub}"), 0o750, HACLUSTER)
    _owned_dir(on_disk(node, "/var/log/pacemaker"), 0o770, HACLUSTER)
    _owned_dir(on_disk(node, "/var/log/corosync"), 0o755)
    _owned_dir(on_disk(node, "/var/log/postgresql"), 0o755, ("postgres", "postgres"))
    _write(on_disk(node, "/etc/corosync/corosync.conf"), lab_corosync(render_corosync(layout.settings)), 0o644)
    _write(on_disk(node, AUTHKEY_PATH), layout.authkey.read_bytes(), 0o400)
    # The first CIB a fresh node reads (no .sig yet: pacemaker accepts that and writes one).
    _write(on_disk(node, "/var/lib/pacemaker/cib/cib.xml"), lab_cib(render_cib(layout.settings)), 0o600, HACLUSTER)
    # The firewall step's file, which its unit loads at boot (lab.machine at power-on).
    _write(on_disk(node, RULES_PATH), lab_ruleset(layout.settings, node.node), 0o600)
    for other in layout.nodes:  # either node may run either fence device
        _write(on_disk(node, bmc_password_file(other.node)), passwords[other.name] + "\n", 0o600)


def authkey(layout: Layout) -> None:
    run(["corosync-keygen", "-k", str(layout.authkey)], timeout=30)
