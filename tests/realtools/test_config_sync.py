"""The configuration sync, run with the real tools.

- The rendered lsyncd configuration, run by the real lsyncd with the real rsync between two local trees:
  the production configuration except for the transport (`lsyncd_conf` with local source and target
  prefixes instead of `root@peer:` over ssh): same roots, same filter, same rsync options.
- The rendered sync-key and sync-trust scripts, run as root in a private mount namespace whose /root and
  /etc/ssh are the test's own directories (the real root's files are never touched).
- The whole chain: the authorized_keys entry those scripts write, a real OpenSSH sshd, the rendered lsyncd
  configuration (only the port, the roots and the log directory changed), real lsyncd, ssh, rrsync and rsync.
"""
from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
from pathlib import Path

import pytest

from components.names import SYNC_RSYNCD_CONF
from components.render.lsyncd import (
    LOG_DIR,
    SYNC_SERVER_COMMAND,
    lsyncd_conf,
    render_lsyncd_conf,
    render_rsyncd_conf,
)
from components.render.sync_scripts import sync_key, sync_trust
from components.settings import Sync
from components.sync_paths import SYNCED, sync_roots
from tests.conftest import require_root, require_tool
from tests.realtools.sync_chain import (
    WAIT_S,
    NodeFiles,
    Pushing,
    keygen,
    pushing_pair,
    running_daemons,
    substituted,
    wait_for,
    write_file,
)
from tools.stackfile import load_settings

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


@pytest.mark.parametrize("extra_paths", [(), ("/etc",)], ids=["listed-paths", "admin-adds-all-of-etc"])
def test_listed_changes_arrive_in_seconds_and_node_specific_files_never(trees, extra_paths):
    src, dst, start = trees
    settings = load_settings("prod")
    settings = dataclasses.replace(settings, sync=Sync(extra_paths=extra_paths,
                                                       extra_excludes=("/etc/bm/node-local.ini",)))
    for path in NODE_SPECIFIC:
        write_file(src, path, "active node's own\n")
    write_file(dst, "/etc/hostname", "passive node's own\n")
    for entry in SYNCED:
        write_file(src, _probe(entry.path), "before start\n")
    stale = write_file(dst, "/etc/bm/removed-on-active.ini", "deleted on the active node\n")
    start(settings)

    # The startup pass copies every listed path, and mirrors deletions.
    for entry in SYNCED:
        wait_for(lambda e=entry: (dst / _probe(e.path).lstrip("/")).exists(), f"startup copy of {entry.path}")
    wait_for(lambda: not stale.exists(), "deletion on the passive node of a file the active node lacks")

    # A node-specific change first, then a listed one: once the listed one arrived, the batch that would
    # have carried the node-specific one has run.
    for path in NODE_SPECIFIC:
        write_file(src, path, "changed on the active node\n")
    changed = write_file(src, "/etc/postfix/main.cf", "myhostname = mail.example.com\n")
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


# --- sync-key and sync-trust, run as root on a node's own /root and /etc/ssh ---------------------------
def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _state(directory: Path) -> dict[str, tuple]:
    """The mode of `directory`, and each of its files' content, inode, mtime and mode."""
    files = {p.name: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns, _mode(p))
             for p in sorted(directory.iterdir())}
    return {directory.name: (_mode(directory),), **files}


def test_sync_key_creates_the_key_once_and_prints_it_and_the_host_key(tmp_path):
    require_root()
    require_tool("unshare", "ssh-keygen")
    s = load_settings("prod")
    node = s.nodes[0]
    files = NodeFiles.create(tmp_path / node.name)

    first = files.run(sync_key(s, node)).stdout
    private_key = (files.ssh_dir / "bluemind-ha-sync").read_bytes()
    second = files.run(sync_key(s, node)).stdout
    assert second == first and (files.ssh_dir / "bluemind-ha-sync").read_bytes() == private_key, "created once"
    sync_public, host_public = first.splitlines()
    assert sync_public == (files.ssh_dir / "bluemind-ha-sync.pub").read_text().strip()
    # sync-trust on the peer replaces its old entry by this comment.
    assert sync_public.startswith("ssh-ed25519 ") and sync_public.endswith(f" bluemind-ha-sync@{node.name}")
    assert host_public == (files.etc_ssh / "ssh_host_ed25519_key.pub").read_text().strip()
    assert (_mode(files.ssh_dir), _mode(files.ssh_dir / "bluemind-ha-sync")) == (0o700, 0o600)


def test_sync_trust_lets_the_peer_push_into_the_synced_roots_only_from_its_address_and_pins_its_host_key(
        tmp_path):
    require_root()
    require_tool("unshare", "ssh-keygen")
    s = load_settings("prod")
    node, peer = s.nodes
    peer_output = NodeFiles.create(tmp_path / peer.name).sync_key_output(s, peer)
    peer_sync_key, peer_host_key = peer_output.split("\n")
    files = NodeFiles.create(tmp_path / node.name)
    files.ssh_dir.mkdir(mode=0o755)
    admin_key = keygen(tmp_path / "admin", "admin@laptop")
    old_peer_key = keygen(tmp_path / "old", f"bluemind-ha-sync@{peer.name}")  # before the peer was reinstalled
    (files.ssh_dir / "authorized_keys").write_text(f"{admin_key}\nrestrict {old_peer_key}\n")

    files.run(sync_trust(s, node), stdin=peer_output)
    assert (files.ssh_dir / "authorized_keys").read_text() == (
        f'{admin_key}\nrestrict,from="{peer.ip}",command="{SYNC_SERVER_COMMAND}" {peer_sync_key}\n')
    rsyncd = files.etc / SYNC_RSYNCD_CONF.removeprefix("/etc/")
    assert rsyncd.read_text() == render_rsyncd_conf(s) and _mode(rsyncd) == 0o644
    assert (files.ssh_dir / "bluemind-ha-sync.known_hosts").read_text() == f"{peer.ip} {peer_host_key}\n"
    assert {name: state[-1] for name, state in _state(files.ssh_dir).items()} == {
        ".ssh": 0o700, "authorized_keys": 0o600, "bluemind-ha-sync.known_hosts": 0o600}

    before = _state(files.ssh_dir)
    again = files.run(sync_trust(s, node), stdin=peer_output)
    assert again.stdout.split() == ["unchanged", "unchanged"] and _state(files.ssh_dir) == before


@pytest.mark.parametrize("lines", ["", "{sync}", "{sync}\n", "\n{host}", "{sync}\nssh: connect to host port 22",
                                   'command="/bin/sh" {sync}\n{host}', "{host}\n{sync}"],
                         ids=["nothing", "no-host-key", "empty-host-key", "empty-sync-key", "an-error-instead",
                              "key-with-options", "swapped"])
def test_sync_trust_refuses_anything_but_two_public_keys_naming_the_peer(tmp_path, lines):
    require_root()
    require_tool("unshare", "ssh-keygen")
    s = load_settings("prod")
    node, peer = s.nodes
    sync_public, host_public = NodeFiles.create(tmp_path / peer.name).sync_key_output(s, peer).split("\n")
    files = NodeFiles.create(tmp_path / node.name)

    result = files.run(sync_trust(s, node), stdin=lines.format(sync=sync_public, host=host_public), check=False)
    assert result.returncode != 0 and f"{peer.name}'s sync-key" in result.stderr, result.stderr
    assert not files.ssh_dir.exists(), "nothing is written from a bad input"
    assert not (files.etc / "bluemind-ha").exists()


# --- the whole chain: sync-trust's entry, a real sshd, rrsync, the rendered lsyncd configuration --------
def _running_with(*fragments: bytes) -> bool:
    """Whether a process runs with all of `fragments` in its command line (arguments separated by NULs)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if all(fragment in cmdline.read_bytes() for fragment in fragments):
                return True
        except OSError:  # it ended meanwhile
            pass
    return False


@pytest.fixture
def pushing(tmp_path, daemons) -> Pushing:
    return pushing_pair(tmp_path, daemons)


def test_lsyncd_pushes_over_ssh_into_the_peers_modules(pushing, tmp_path, daemons):
    s, src, dst = pushing.s, pushing.src, pushing.dst
    active = s.nodes[0]
    # One file in each watched root: each is its own rsync over its own ssh login, run at the same time.
    startup = [write_file(src, path, f"{path} before start\n") for path in
               ("/etc/postfix/main.cf", "/var/lib/bm-ca/ca-cert.pem",
                "/usr/share/bm-elasticsearch/config/elasticsearch.yml")]
    assert len(startup) == len(sync_roots(s))
    write_file(src, "/etc/hostname", f"{active.name}\n")
    stale = write_file(dst, "/etc/bm/removed-on-active.ini", "deleted on the active node\n")
    config = tmp_path / "lsyncd.conf.lua"
    config.write_text(substituted(render_lsyncd_conf(s, active), {
        'source = "/': f'source = "{src}/', f'"{LOG_DIR}/': f'"{tmp_path}/'}))
    logs = (tmp_path / "lsyncd.out", tmp_path / "sshd.log")
    daemons(pushing.active.command("lsyncd", "-nodaemon", str(config)), tmp_path / "lsyncd.out")

    for copied in startup:
        arrived = dst / copied.relative_to(src)
        wait_for(lambda c=copied, d=arrived: d.exists() and d.read_text() == c.read_text(),
                  f"startup copy of {arrived.relative_to(dst)}", logs)
    wait_for(lambda: not stale.exists(), "deletion on the passive node of a file the active node lacks", logs)
    write_file(src, "/etc/hostname", f"{active.name}, changed\n")
    changed = write_file(src, "/etc/bm/bm.ini", "[global]\nexternal-url = mail.example.com\n")
    os.chmod(changed, 0o640)
    copy = dst / "etc/bm/bm.ini"
    wait_for(lambda: copy.exists() and copy.read_text() == changed.read_text(), "a change to /etc/bm/bm.ini", logs)
    assert _mode(copy) == 0o640 and copy.stat().st_uid == changed.stat().st_uid
    assert not (dst / "etc/hostname").exists(), "node-specific: never synced"


def test_the_sync_key_runs_nothing_but_the_sync_server_and_only_from_the_peer(pushing, tmp_path):
    def run(argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)

    peer = run(pushing.ssh(f"root@{pushing.passive_ip}", "id"))
    assert peer.returncode != 0 and "uid=" not in peer.stdout, peer.stdout  # the rsync daemon, never `id`
    foreign_key = tmp_path / "foreign"
    keygen(foreign_key, f"bluemind-ha-sync@{pushing.s.nodes[0].name}")
    for refused in (run(pushing.ssh(f"root@{pushing.passive_ip}", "id", key=str(foreign_key))),
                    run(pushing.ssh("-o", "BindAddress=127.0.0.3", f"root@{pushing.passive_ip}", "id"))):
        assert (refused.returncode, "Permission denied" in refused.stderr) == (255, True), refused.stderr


def test_through_the_sync_key_nothing_is_read_nor_written_outside_the_allow_list(pushing, tmp_path):
    """The peer's key is all an attacker on the active node needs: it must not read /etc/shadow here, nor
    write root's authorized_keys, a cron job or a device node."""
    peer, dst = pushing.passive_ip, pushing.dst
    secret = write_file(dst, "/etc/bm/bm-core.tok", "the admin token\n")
    pulled = pushing.rsync(f"root@{peer}::etc/bm/bm-core.tok", str(tmp_path / "stolen"))
    assert pulled.returncode != 0 and not (tmp_path / "stolen").exists(), pulled.stderr
    assert secret.read_text() == "the admin token\n"

    evil = write_file(tmp_path, "evil", "* * * * * root sh -c 'id > /tmp/owned'\n")
    for target in ("etc/cron.d/evil", "etc/../../root/.ssh/authorized_keys", "etc/shadow"):
        pushing.rsync(str(evil), f"root@{peer}::{target}")
    assert not (dst / "etc/cron.d/evil").exists() and not (dst / "etc/shadow").exists()
    assert not [p for p in tmp_path.rglob("authorized_keys") if "evil" in p.read_text() or "owned" in p.read_text()]
    no_module = pushing.rsync(str(evil), f"root@{peer}::root/evil")
    assert no_module.returncode != 0 and not list(tmp_path.rglob("root/evil"))

    device = tmp_path / "devices" / "bm" / "null"
    device.parent.mkdir(parents=True)
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    pushed = pushing.rsync("-D", str(device), f"root@{peer}::etc/bm/null")
    assert pushed.returncode != 0 and not (dst / "etc/bm/null").exists(), pushed.stderr

    write_file(dst, "/etc/postfix/main.cf", "old\n")
    allowed = pushing.rsync(str(write_file(tmp_path, "main.cf", "relayhost =\n")), f"root@{peer}::etc/postfix/main.cf")
    assert allowed.returncode == 0 and (dst / "etc/postfix/main.cf").read_text() == "relayhost =\n", allowed.stderr
