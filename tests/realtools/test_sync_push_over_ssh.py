"""The configuration sync's whole chain: the authorized_keys entry sync-key and sync-trust write, a real OpenSSH
sshd, the rendered lsyncd configuration (only the port, the roots and the log directory changed), real lsyncd,
ssh, rrsync and rsync."""
from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from components.names import SYNC_RSYNCD_CONF
from components.render.lsyncd import LOG_DIR, SYNC_KEY, render_lsyncd_conf, ssh_command
from components.render.sync_scripts import sync_trust
from components.settings import Settings
from components.sync_paths import sync_roots
from tests.conftest import require_root, require_tool
from tests.realtools.sync_harness import NodeFiles, keygen, mode, running_daemons, wait_for, write
from tests.stacks import settings_with

ACTIVE_IP, PASSIVE_IP = "127.0.0.1", "127.0.0.2"  # 127.0.0.1: the kernel's source address on lo


@pytest.fixture
def daemons():
    with running_daemons() as start:
        yield start


def _loopback_settings() -> Settings:
    """prod, its nodes on loopback addresses: the active node reaches the passive node's sshd on PASSIVE_IP
    from ACTIVE_IP."""
    return settings_with("prod", network={"subnet": "127.0.0.0/24", "gateway": "127.0.0.254", "dns": ["127.0.0.53"],
                                          "vip": "127.0.0.50"}, storage={"portal": "127.0.0.40"},
                         nodes=({"ip": ACTIVE_IP}, {"ip": PASSIVE_IP}))


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _start_sshd(daemons, node: NodeFiles, port: int, log: Path) -> None:
    """The node's sshd: Debian's OpenSSH with nothing of the system's configuration, the node's host key and
    the authorized_keys sync-trust wrote. A private /run holds its privilege separation directory; it is the
    init of a PID namespace of its own, so its session processes are reaped even when it is stopped first."""
    process = daemons(["unshare", "--mount", "--pid", "--fork", "sh", "-c",
                       'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && exec "$@"', "sshd",
                       shutil.which("sshd"), "-D", "-e", "-f", "/dev/null",
                       "-h", str(node.etc_ssh / "ssh_host_ed25519_key"),
                       "-o", f"ListenAddress={PASSIVE_IP}:{port}",
                       "-o", f"AuthorizedKeysFile={node.ssh_dir / 'authorized_keys'}",
                       "-o", "StrictModes=no", "-o", "PidFile=none", "-o", "PasswordAuthentication=no"], log)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((PASSIVE_IP, port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"sshd did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


def _running_with(*fragments: bytes) -> bool:
    """Whether a process runs with all of `fragments` in its command line (arguments separated by NULs)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if all(fragment in cmdline.read_bytes() for fragment in fragments):
                return True
        except OSError:  # it ended meanwhile
            pass
    return False


def _substituted(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the rendered text no longer contains {old!r}"
        text = text.replace(old, new)
    return text


@dataclasses.dataclass
class Pushing:
    """Two nodes on loopback: the passive one's real sshd runs the rendered forced command on a copy of the
    rendered rsync daemon configuration whose module paths are the test's passive tree."""

    s: Settings
    active: NodeFiles
    passive_ip: str
    src: Path
    dst: Path

    def ssh(self, *argv: str, key: str = SYNC_KEY) -> list[str]:
        return self.active.command(*ssh_command(key=key).split(), *argv)

    def rsync(self, *argv: str) -> subprocess.CompletedProcess:
        """The real rsync client, pushing or pulling through the sync key, as lsyncd's rsync does."""
        return subprocess.run(self.active.command("rsync", "-e", ssh_command(), *argv), capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)


@pytest.fixture
def pushing(tmp_path, daemons) -> Pushing:
    require_root()
    require_tool("unshare", "sshd", "ssh", "ssh-keygen", "lsyncd", "rsync")
    s = _loopback_settings()
    active, passive = s.nodes
    a, b = NodeFiles.create(tmp_path / active.name), NodeFiles.create(tmp_path / passive.name)
    a_output, b_output = a.sync_key_output(s, active), b.sync_key_output(s, passive)
    b.run(sync_trust(s, passive), stdin=a_output)
    a.run(sync_trust(s, active), stdin=b_output)
    src, dst = tmp_path / "active-tree", tmp_path / "passive-tree"
    for root in sync_roots(s):
        (src / root.directory.lstrip("/")).mkdir(parents=True)
        (dst / root.directory.lstrip("/")).mkdir(parents=True)
    # What sync-trust installed on the passive node, pointed at the test's tree (the sshd runs outside the
    # node's mount namespace, so it reads the configuration where the test put it).
    rsyncd = tmp_path / "rsyncd-sync.conf"
    rendered = (b.etc / SYNC_RSYNCD_CONF.removeprefix("/etc/")).read_text()
    rsyncd.write_text(_substituted(rendered, {f"    path = {r.directory}\n": f"    path = {dst}{r.directory}\n"
                                              for r in sync_roots(s)}))
    keys = b.ssh_dir / "authorized_keys"
    keys.write_text(_substituted(keys.read_text(), {f"--config={SYNC_RSYNCD_CONF}": f"--config={rsyncd}"}))
    port = _free_port(PASSIVE_IP)
    _start_sshd(daemons, b, port, tmp_path / "sshd.log")
    # The passive node's sshd listens on `port`, not 22; the pin stays the rendered "<peer ip> <host key>".
    (a.ssh_dir / "config").write_text(f"Host {passive.ip}\n    Port {port}\n    HostKeyAlias {passive.ip}\n")
    return Pushing(s, a, passive.ip, src, dst)


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
    config.write_text(_substituted(render_lsyncd_conf(s, active), {
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
