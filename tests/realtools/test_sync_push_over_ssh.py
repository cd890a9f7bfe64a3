"""The configuration sync's whole chain: the authorized_keys entry sync-key and sync-trust write, a real OpenSSH
sshd, the rendered lsyncd configuration (only the port, the roots and the log directory changed), real lsyncd,
ssh, rrsync and rsync."""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from components.render.lsyncd import LOG_DIR, render_lsyncd_conf
from components.sync_paths import sync_roots
from tests.realtools.sync_chain import Pushing, pushing_pair, substituted
from tests.realtools.sync_harness import keygen, mode, running_daemons, wait_for, write


@pytest.fixture
def daemons():
    with running_daemons() as start:
        yield start


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
    startup = [write(src, path, f"{path} before start\n") for path in
               ("/etc/postfix/main.cf", "/var/lib/bm-ca/ca-cert.pem",
                "/usr/share/bm-elasticsearch/config/elasticsearch.yml")]
    assert len(startup) == len(sync_roots(s))
    write(src, "/etc/hostname", f"{active.name}\n")
    stale = write(dst, "/etc/bm/removed-on-active.ini", "deleted on the active node\n")
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
    write(src, "/etc/hostname", f"{active.name}, changed\n")
    changed = write(src, "/etc/bm/bm.ini", "[global]\nexternal-url = mail.example.com\n")
    os.chmod(changed, 0o640)
    copy = dst / "etc/bm/bm.ini"
    wait_for(lambda: copy.exists() and copy.read_text() == changed.read_text(), "a change to /etc/bm/bm.ini", logs)
    assert mode(copy) == 0o640 and copy.stat().st_uid == changed.stat().st_uid
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
    secret = write(dst, "/etc/bm/bm-core.tok", "the admin token\n")
    pulled = pushing.rsync(f"root@{peer}::etc/bm/bm-core.tok", str(tmp_path / "stolen"))
    assert pulled.returncode != 0 and not (tmp_path / "stolen").exists(), pulled.stderr
    assert secret.read_text() == "the admin token\n"

    evil = write(tmp_path, "evil", "* * * * * root sh -c 'id > /tmp/owned'\n")
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

    write(dst, "/etc/postfix/main.cf", "old\n")
    allowed = pushing.rsync(str(write(tmp_path, "main.cf", "relayhost =\n")), f"root@{peer}::etc/postfix/main.cf")
    assert allowed.returncode == 0 and (dst / "etc/postfix/main.cf").read_text() == "relayhost =\n", allowed.stderr
