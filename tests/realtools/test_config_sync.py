"""The rendered lsyncd configuration, run by the real lsyncd with the real rsync between two local trees: the
production configuration except for the transport (`lsyncd_conf` with local source and target prefixes instead
of `root@peer:` over ssh): same roots, same filter, same rsync options. (sync-key and sync-trust:
test_sync_trust.py; the whole chain over ssh: test_sync_push_over_ssh.py.)
"""
from __future__ import annotations

import os

import pytest

from components.render.lsyncd import lsyncd_conf
from components.sync_paths import SYNCED, sync_roots
from tests.conftest import require_tool
from tests.realtools.sync_harness import WAIT_S, running_daemons, wait_for, write
from tests.stacks import settings_with

# The synced paths that are directories on a BlueMind host; the others are files.
DIRECTORIES = {"/etc/bm", "/etc/bm-hps", "/etc/bm-webmail", "/etc/bm-eas", "/etc/bm-mapi", "/etc/nginx",
               "/etc/postfix", "/etc/postgresql", "/etc"}
NODE_SPECIFIC = ("/etc/hostname", "/etc/machine-id", "/etc/ssh/ssh_host_ed25519_key",
                 "/etc/iscsi/initiatorname.iscsi", "/etc/iscsi/iscsid.conf", "/etc/corosync/authkey",
                 "/etc/network/interfaces", "/etc/fstab", "/etc/bluemind-ha/bmc/bm-prod-a.password",
                 "/etc/lsyncd/lsyncd.conf.lua", "/etc/bm/node-local.ini")


def _probe(path: str) -> str:
    """Where to write to change a synced path: the file itself, or a file inside the directory."""
    return f"{path}/bluemind-ha-probe" if path in DIRECTORIES else path


@pytest.fixture
def daemons():
    with running_daemons() as start:
        yield start


@pytest.fixture
def trees(tmp_path, daemons):
    """Two node trees: `src` mirrors the active node, `dst` the passive one."""
    require_tool("lsyncd", "rsync")
    src, dst = tmp_path / "active", tmp_path / "passive"

    def start(settings) -> None:
        for root in sync_roots(settings):
            (src / root.directory.lstrip("/")).mkdir(parents=True, exist_ok=True)
            (dst / root.directory.lstrip("/")).mkdir(parents=True, exist_ok=True)
        config = tmp_path / "lsyncd.conf.lua"
        config.write_text(lsyncd_conf(settings, "test", str(src), lambda root: f"{dst}{root.directory}/", rsh=None,
                                      log_dir=str(tmp_path)))
        daemons(["lsyncd", "-nodaemon", str(config)], tmp_path / "lsyncd.out")

    return src, dst, start


# An admin cannot list all of /etc (a system directory is refused) but may list node-specific files by name.
@pytest.mark.parametrize("extra_paths", [(), NODE_SPECIFIC[:-1]], ids=["listed-paths", "admin-lists-node-specific-files"])
def test_listed_changes_arrive_in_seconds_and_node_specific_files_never(trees, extra_paths):
    src, dst, start = trees
    settings = settings_with("prod", sync={"extra_paths": list(extra_paths), "extra_excludes": ["/etc/bm/node-local.ini"]})
    for path in NODE_SPECIFIC:
        write(src, path, "active node's own\n")
    write(dst, "/etc/hostname", "passive node's own\n")
    for entry in SYNCED:
        write(src, _probe(entry.path), "before start\n")
    stale = write(dst, "/etc/bm/removed-on-active.ini", "deleted on the active node\n")
    start(settings)

    # The startup pass copies every listed path, and mirrors deletions.
    for entry in SYNCED:
        wait_for(lambda e=entry: (dst / _probe(e.path).lstrip("/")).exists(), f"startup copy of {entry.path}")
    wait_for(lambda: not stale.exists(), "deletion on the passive node of a file the active node lacks")

    # A node-specific change first, then a listed one: once the listed one arrived, the batch that would
    # have carried the node-specific one has run.
    for path in NODE_SPECIFIC:
        write(src, path, "changed on the active node\n")
    changed = write(src, "/etc/postfix/main.cf", "myhostname = mail.example.com\n")
    os.chmod(changed, 0o640)
    os.utime(changed, (1_700_000_000, 1_700_000_000))
    copy = dst / "etc/postfix/main.cf"
    took = wait_for(lambda: copy.exists() and copy.read_text() == changed.read_text(), "a change to /etc/postfix/main.cf")
    assert took < WAIT_S
    assert (copy.stat().st_mode & 0o777, copy.stat().st_mtime) == (0o640, 1_700_000_000), "perms and times kept"
    assert (copy.stat().st_uid, copy.stat().st_gid) == (changed.stat().st_uid, changed.stat().st_gid)

    for path in NODE_SPECIFIC:
        if path != "/etc/hostname":
            assert not (dst / path.lstrip("/")).exists(), f"{path} is node-specific and must never be synced"
    assert (dst / "etc/hostname").read_text() == "passive node's own\n", "the peer's own hostname is kept"
