"""A private tgtd on loopback for tests, so it never talks to, or collides with, a system tgtd or another
test's: either on this machine with its own iSCSI port and its own management (control) port, or inside a
`PrivateHost`, where it has tgtd's default port and control socket to itself, as on the storage host.

Also what the tests feed it: the rendered targets.conf with its volumes swapped for test devices, and a stack
variant with one more shared directory."""
from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from components.render.tgt import backing_store
from components.settings import Settings, parse_settings
from tools.stackfile import read_stack_config

TGTD_SOCKET_DIR = Path("/var/run/tgtd")
START_TIMEOUT_S = 10
# tgtd (and a PrivateHost) is killed after this long even if the test process dies without cleaning up.
MAX_LIFETIME_S = 300
DEFAULT_ISCSI_PORT = 3260
DEFAULT_CONTROL_PORT = 0  # tgtd's socket.0, what tgtadm and tgt-admin use without -C
EXTRA_DIRECTORY = "/srv/bluemind-extra"


def swap_backing_stores(conf: str, s: Settings, volumes: dict[int, Path | str]) -> str:
    """The rendered targets.conf with each LUN's logical volume replaced by `volumes[lun number]`, and nothing
    else changed."""
    for lun in s.storage.luns:
        line = f"<backing-store {backing_store(s, lun)}>"
        assert conf.count(line) == 1, f"{line} must appear exactly once in the rendered targets.conf"
        conf = conf.replace(line, f"<backing-store {volumes[lun.number]}>")
    return conf


def live_target(show: str) -> dict:
    """Target name, LUN numbers and their volumes, CHAP accounts (incoming; outgoing: mutual CHAP) and ACL
    entries of the first target in
    `tgtadm --op show --mode target` (LUN 0, tgt's controller, left out)."""
    def section(title: str) -> list[str]:
        return [line.strip() for line in re.search(rf"^    {title}:\n((?:        .*\n)*)", show, re.M).group(1)
                .splitlines()]

    volumes = dict(re.findall(r"^        LUN: (\d+)\n(?:            .*\n)*?            Backing store path: (\S+)$",
                              show, re.M))
    return {
        "target": re.search(r"^Target \d+: (\S+)$", show, re.M).group(1),
        "luns": [int(n) for n in re.findall(r"^        LUN: (\d+)$", show, re.M) if n != "0"],
        "volumes": {int(n): path for n, path in volumes.items() if n != "0"},
        "accounts": [a for a in section("Account information") if not a.endswith(" (outgoing)")],
        "outgoing": [a.removesuffix(" (outgoing)") for a in section("Account information") if a.endswith(" (outgoing)")],
        "acl": section("ACL information"),
    }


def with_extra_directory(stack: str) -> Settings:
    """A generated variant: the stack plus one extra shared directory, which must become one more LUN."""
    config, secret_keys = read_stack_config(stack)
    config["storage"] = {**config["storage"], "extra_directories": [EXTRA_DIRECTORY]}
    return parse_settings(stack, config, secret_keys)


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unused_control_port() -> int:
    # The control port only names tgtd's management socket (/var/run/tgtd/socket.N): pick an unused N.
    while True:
        port = random.randint(1000, 32767)  # tgtd refuses larger values
        if not (TGTD_SOCKET_DIR / f"socket.{port}").exists():
            return port


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process group `process` leads (started with start_new_session), and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


class PrivateHost:
    """A mount and network namespace standing in for the storage host, for running its rendered scripts as they
    are: a network with only a loopback interface (a daemon there is reachable from inside only), /etc/tgt of
    its own (Debian's targets.conf, an empty conf.d) and its own tgtd control-socket directory. `command()`
    runs a command inside. The namespaces end with their last process."""

    def __init__(self, workdir: Path):
        self.etc_tgt = workdir / "etc-tgt"
        self.process: subprocess.Popen | None = None

    def add_addresses(self, *addresses: str) -> None:
        """More addresses on its loopback. Within the namespace a connection to one of its own addresses comes
        from that address: an initiator "is" the address it connects to, on a tgtd listening on all of them."""
        for address in addresses:
            subprocess.run(self.command(["ip", "addr", "add", f"{address}/32", "dev", "lo"]), check=True, timeout=10)

    def start(self) -> None:
        (self.etc_tgt / "conf.d").mkdir(parents=True)
        shutil.copy("/etc/tgt/targets.conf", self.etc_tgt / "targets.conf")
        setup = ('ip link set lo up && mount --bind "$1" /etc/tgt && mkdir -p /run/tgtd && '
                 'mount -t tmpfs -o mode=0755 tgtd /run/tgtd && echo "$$" && exec sleep infinity')
        self.process = subprocess.Popen(
            ["timeout", "-s", "KILL", str(MAX_LIFETIME_S), "unshare", "--mount", "--propagation", "private", "--net",
             "bash", "-c", setup, "private-host", str(self.etc_tgt)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, start_new_session=True)
        first_line = self.process.stdout.readline()  # the namespaces' first process, once they are set up
        if not first_line.strip().isdigit():
            raise RuntimeError(f"the private host did not start (exit status {self.process.wait(timeout=10)})")
        self.pid = int(first_line)

    def command(self, argv: list[str]) -> list[str]:
        return ["nsenter", "--target", str(self.pid), "--mount", "--net", "--", *argv]

    def stop(self) -> None:
        if self.process is not None:
            _kill_group(self.process)
            self.process.stdout.close()
            self.process = None


class Tgtd:
    """tgtd in the foreground in its own process group; `tgtadm`/`tgt_admin` talk to this one only. In a
    PrivateHost it listens on tgtd's default port and control socket; elsewhere on ports of its own."""

    def __init__(self, workdir: Path, host: PrivateHost | None = None, listen: str = "127.0.0.1"):
        self.host, self.listen = host, listen
        if host is None:
            self.port, self.control_port = free_tcp_port(), _unused_control_port()
        else:
            self.port, self.control_port = DEFAULT_ISCSI_PORT, DEFAULT_CONTROL_PORT
        self.log_path = workdir / "tgtd.log"
        self.process: subprocess.Popen | None = None

    def command(self, argv: list[str]) -> list[str]:
        return self.host.command(argv) if self.host else argv

    @property
    def portal(self) -> str:
        return f"{self.listen}:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                ["timeout", "-s", "KILL", str(MAX_LIFETIME_S),
                 *self.command(["tgtd", "-f", "-C", str(self.control_port), "--iscsi", f"portal={self.portal}"])],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tgtd exited with {self.process.returncode}: {self.log_path.read_text()}")
            # tgtd lists a portal once it listens there.
            portals = self.tgtadm("--op", "show", "--mode", "portal", check=False)
            if portals.returncode == 0 and f"Portal: {self.portal}," in portals.stdout:
                return
            time.sleep(0.05)
        raise RuntimeError(f"tgtd did not come up within {START_TIMEOUT_S} s: {self.log_path.read_text()}")

    def tgtadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(["tgtadm", "-C", str(self.control_port), "--lld", "iscsi", *args]),
                              capture_output=True, text=True, timeout=10, check=check)

    def load(self, targets_conf: Path) -> str:
        """`tgt-admin --execute` a targets.conf (as the storage host's tgt service does); returns its log."""
        result = subprocess.run(self.command(["tgt-admin", "-C", str(self.control_port), "-c", str(targets_conf),
                                              "--execute", "-v"]), capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"tgt-admin failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def show_targets(self) -> str:
        return self.tgtadm("--op", "show", "--mode", "target").stdout

    def stop(self) -> None:
        # tgtd ignores SIGTERM while it serves targets, and nothing here needs a clean shutdown: the
        # backing stores are throw-away files. Kill the group, then drop its management socket.
        if self.process is not None:
            _kill_group(self.process)
            self.process = None
        if self.host is None:  # in a PrivateHost the socket directory goes with the namespace
            for name in (f"socket.{self.control_port}", f"socket.{self.control_port}.lock"):
                (TGTD_SOCKET_DIR / name).unlink(missing_ok=True)
