"""The configuration sync's chain on loopback, shared by its test modules: two nodes where the active one pushes
through the rendered sync key, forced command and rsync daemon configuration into the passive one's real sshd.
"""
from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from components.names import SYNC_RSYNCD_CONF
from components.render.lsyncd import SYNC_KEY, ssh_command
from components.render.sync_scripts import sync_trust
from components.settings import Settings
from components.sync_paths import sync_roots
from tests.conftest import require_root, require_tool
from tests.realtools.sync_harness import NodeFiles
from tests.stacks import settings_with

ACTIVE_IP, PASSIVE_IP = "127.0.0.1", "127.0.0.2"  # 127.0.0.1: the kernel's source address on lo


def loopback_settings() -> Settings:
    """prod, its nodes on loopback addresses: the active node reaches the passive node's sshd on PASSIVE_IP
    from ACTIVE_IP."""
    return settings_with("prod", network={"subnet": "127.0.0.0/24", "gateway": "127.0.0.254", "dns": ["127.0.0.53"],
                                          "vip": "127.0.0.50", "storage_subnet": None},
                         storage={"portal": "127.0.0.40"},
                         nodes=({"ip": ACTIVE_IP, "storage_ip": None}, {"ip": PASSIVE_IP, "storage_ip": None}))


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def start_sshd(daemons, node: NodeFiles, port: int, log: Path) -> None:
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


def substituted(text: str, replacements: dict[str, str]) -> str:
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


def pushing_pair(tmp_path: Path, daemons: Callable[[list[str], Path], subprocess.Popen]) -> Pushing:
    """The two nodes of `Pushing`, their sync keys exchanged by the rendered sync-key and sync-trust steps,
    and the passive one's sshd started with `daemons`."""
    require_root()
    require_tool("unshare", "sshd", "ssh", "ssh-keygen", "lsyncd", "rsync")
    s = loopback_settings()
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
    rsyncd.write_text(substituted(rendered, {f"    path = {r.directory}\n": f"    path = {dst}{r.directory}\n"
                                              for r in sync_roots(s)}))
    keys = b.ssh_dir / "authorized_keys"
    keys.write_text(substituted(keys.read_text(), {f"--config={SYNC_RSYNCD_CONF}": f"--config={rsyncd}"}))
    port = free_port(PASSIVE_IP)
    start_sshd(daemons, b, port, tmp_path / "sshd.log")
    # The passive node's sshd listens on `port`, not 22; the pin stays the rendered "<peer ip> <host key>".
    (a.ssh_dir / "config").write_text(f"Host {passive.ip}\n    Port {port}\n    HostKeyAlias {passive.ip}\n")
    return Pushing(s, a, passive.ip, src, dst)
