"""The lab's qdevice profile (`python -m lab.run --qdevice`): the `lab` stack with an arbitrator
(cluster.qdevice), corosync-qnetd running in a third namespace on the lab network, and corosync-qdevice on
each node, started by its machine with corosync (as systemd does through the qdevice-cert step's drop-in).

The certificates are made by the program's own steps (components/scripts/qnetd*.sh, qdevice-*.sh), rendered
with their host parts as no-ops (the lab has no apt and no systemd), each run in a mount namespace where
/etc/corosync is that host's disk, each step's stdout fed to the next one's stdin as `pulumi up` feeds them.

Scenarios: the active node crashes; the active node's cable is cut (it loses its peer and the arbitrator: the
passive side keeps the arbitrator's vote and fences it; the cut side, inquorate, fences nobody and freezes);
the arbitrator goes down (the cluster keeps running on 2 of 3 votes), then the passive node crashes: the active
node, inquorate, keeps serving and fences nobody; once the arbitrator is back it is quorate again, fences the
crashed node, which reboots and rejoins.
"""
from __future__ import annotations

import contextlib
import copy
import datetime
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from components.render import qdevice_scripts
from components.settings import Settings, parse_settings
from lab import cluster, nodelogs, scenarios
from lab.layout import BRIDGE, HUB, PREFIX, WORK, Layout
from lab.network import ip
from lab.proc import run

if TYPE_CHECKING:
    from lab.session import LabSession

STACK = "lab-qdevice"
# The arbitrator of the lab: a third machine on the lab network (never contacted over SSH: the host key is a
# placeholder the settings require of an existing host).
ARBITRATOR = {"name": "lab-qnetd", "ip": "10.99.0.30",
              "ssh_host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIrnHQO2IXnxEbg3tlIhOO83k6+ojnW9jNaY3uDTnX4T "
                              "root@lab-qnetd"}
NETNS = f"{PREFIX}-qnetd"
HUB_LINK = f"{PREFIX}-qnetd"
DISK = WORK / "qnetd" / "etc-corosync"  # the arbitrator's /etc/corosync
LOG = WORK / "qnetd" / "qnetd.log"
QDEVICE_RUN_DIR = "/run/corosync-qdevice"  # the unit's RuntimeDirectory; the machine's /run is a fresh tmpfs


def profile_settings(profile: str) -> Settings:
    """A timing profile's settings (lab.profiles) with the arbitrator, named `lab-qdevice` (the name the node
    machines load their layout by: load_settings)."""
    from lab import profiles
    from tools.stackfile import load_settings as from_file
    from tools.stackfile import read_stack_config

    if profile not in profiles.PROFILES:
        raise ValueError(f"unknown lab profile {profile!r}: one of {', '.join(profiles.PROFILES)}")
    config, secrets = read_stack_config(profiles.STACK)
    config = profiles.lab_config_with_timings(config, profiles.timings_of(from_file(profile)))
    config = copy.deepcopy(config)
    config["cluster"]["qdevice"] = dict(ARBITRATOR)
    return parse_settings(STACK, config, secrets)


def load_settings(stack: str) -> Settings:
    """The lab's settings by name: `lab-qdevice` is the `lab` stack with the arbitrator (its layout: addresses
    and hosts, whatever the profile), any other a stack file."""
    from tools.stackfile import load_settings as from_file

    return profile_settings("lab") if stack == STACK else from_file(stack)


def _node_etc_corosync(layout: Layout, name: str):
    from lab.provision import on_disk  # it imports lab.machine, which imports this module's users
    return on_disk(layout.node(name), "/etc/corosync/corosync.conf").parent


def _step(etc_corosync, script: str, stdin: str = "", netns: str | None = None) -> str:
    """A rendered step run where /etc/corosync is `etc_corosync` (a private mount namespace); its stdout."""
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$1" /etc/corosync && exec bash -c "$2"', "step", str(etc_corosync), script]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    return run(argv, timeout=120, input=stdin).stdout


def provision(layout: Layout, stack: contextlib.ExitStack) -> Arbitrator | None:
    """With an arbitrator: its namespace on the lab network, the certificates of the program's steps, and
    corosync-qnetd started (stopped by `stack`, and by teardown with every lab namespace). Before the nodes'
    machines start: each node's certificate is on its disk when its corosync-qdevice starts."""
    s = layout.settings
    if s.qdevice is None:
        return None
    ip("netns", "add", NETNS)
    ip("link", "set", "lo", "up", netns=NETNS)
    ip("link", "add", HUB_LINK, "netns", HUB, "type", "veth", "peer", "name", "eth0", "netns", NETNS)
    ip("link", "set", HUB_LINK, "master", BRIDGE, netns=HUB)
    ip("link", "set", HUB_LINK, "up", netns=HUB)
    ip("link", "set", "eth0", "up", netns=NETNS)
    ip("addr", "add", f"{s.qdevice.ip}/{s.network.prefix}", "dev", "eth0", netns=NETNS)
    (DISK / "qnetd").mkdir(parents=True, exist_ok=True)
    ca = _step(DISK, qdevice_scripts.qnetd(s, qdevice_scripts.LAB_PARTS))
    for node in s.nodes:
        disk = _node_etc_corosync(layout, node.name)
        request = _step(disk, qdevice_scripts.qdevice_request(s, node, qdevice_scripts.LAB_PARTS), ca)
        signed = _step(DISK, qdevice_scripts.qnetd_sign(s, node), request)
        _step(disk, qdevice_scripts.qdevice_cert(s, node, qdevice_scripts.LAB_PARTS), signed)
    handle = Arbitrator()
    handle.start()
    stack.callback(handle.stop)
    return handle


class Arbitrator:
    """corosync-qnetd in the arbitrator's namespace, its /etc/corosync the arbitrator's disk, /run its own."""

    def __init__(self):
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        LOG.parent.mkdir(parents=True, exist_ok=True)
        with open(LOG, "ab") as log:
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", NETNS, "unshare", "--mount", "--propagation", "private", "sh", "-c",
                 f'mount --bind "{DISK}" /etc/corosync && mount -t tmpfs -o mode=0755 qnetd /run && '
                 "mkdir -p /run/corosync-qnetd && exec corosync-qnetd -f -d"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 20
        while not self.listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"corosync-qnetd did not come up: see {LOG}")
            time.sleep(0.2)

    def listening(self) -> bool:
        out = run(["ip", "netns", "exec", NETNS, "ss", "-Htln", "sport = :5403"], check=False).stdout
        return bool(out.strip())

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, 9)
        self.process.wait(timeout=10)
        self.process = None


def start_qdevice(spawn) -> None:
    """The node's machine, once corosync answers: corosync-qdevice in the foreground (systemd's unit runs
    `corosync-qdevice -f` after corosync, with its runtime directory)."""
    os.makedirs(QDEVICE_RUN_DIR, mode=0o770, exist_ok=True)
    spawn(["corosync-qdevice", "-f"])


def quorate(lab: LabSession, name: str) -> bool | None:
    """Whether `name` counts itself quorate (corosync-quorumtool), None if it does not answer."""
    out = lab.handle(name).inside(["corosync-quorumtool", "-s"], check=False, timeout=10).stdout
    for line in out.splitlines():
        if line.startswith("Quorate:"):
            return line.split()[-1] == "Yes"
    return None


def arbitrator_down(lab: LabSession) -> scenarios.Result:
    """The arbitrator stops; the cluster must keep running. Then the passive node crashes: the active node,
    inquorate, keeps serving and fences nobody. The arbitrator comes back: the active node is quorate again,
    fences the crashed node, which rejoins. Recovery: how long the client could not commit (0 if never)."""
    arbitrator = lab.arbitrator
    active = lab.active()
    victim = lab.layout.peer(active).name
    result = scenarios.Result("qnetd-down", victim, (victim,))
    committed_before, marked, fault_at = lab.committed(), nodelogs.mark(lab.layout), time.monotonic()
    arbitrator.stop()
    time.sleep(5)
    if cluster.state(lab.handles) is None or not quorate(lab, active):
        return scenarios._finish(lab, result, fault_at, committed_before, marked)  # it alone cost quorum
    lab.handle(victim).command("crash")
    time.sleep(15)
    frozen_ok = quorate(lab, active) is False and not scenarios._powered_off(lab, fault_at)
    arbitrator.start()
    failed = [at for status, _, at in lab.attempts() if status == "fail" and at >= fault_at]
    result.recovery_s = 0.0 if frozen_ok and not failed else None
    return scenarios._finish(lab, result, fault_at, committed_before, marked)


def log_lines_between(path: Path, since_wall: float, until_wall: float) -> list[tuple[float, str]]:
    """(time, line) of a pacemaker log (`Dec 01 08:05:48.797 ...`) or a corosync log (`Dec 01 08:05:47 ...`),
    stamped within [since_wall, until_wall] (their clock is the wall clock, this machine's local time)."""
    year = datetime.datetime.fromtimestamp(since_wall).year
    found = []
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        for stamp, form in ((line[:19], "%Y %b %d %H:%M:%S.%f"), (line[:15], "%Y %b %d %H:%M:%S")):
            try:
                at = datetime.datetime.strptime(f"{year} {stamp}", form).timestamp()
            except ValueError:
                continue
            if since_wall <= at <= until_wall:
                found.append((at, line))
            break
    return found


def cut_side_problems(entries: list[tuple[float, str]]) -> list[str]:
    """What the side without the arbitrator's vote did wrong once it saw its peer gone (its logs, from the cut to
    its power-off): any fence request or start. Before that it may still finish a transition of the joined
    cluster. Its quorum loss is not required in the logs: the fence may power it off first."""
    entries = sorted(entries)
    lost = next((at for at, x in entries if "Members left" in x or "state is now lost" in x), None)
    if lost is None:
        return []
    return [f"acted: {x}" for at, x in entries
            if at >= lost and ("Requesting fencing" in x or "Initiating start operation" in x)]


def split(lab: LabSession) -> scenarios.Result:
    """lab.scenarios' split, and what the cut side did until it was fenced (cut_side_problems)."""
    from lab.provision import on_disk  # it imports lab.machine, which imports this module's users

    victim, since_wall, since_mono = lab.active(), time.time(), time.monotonic()
    result = scenarios.split(lab)
    offs = [at for at, what in lab.handle(victim).events() if at >= since_mono and what.startswith("off")]
    until_wall = since_wall + ((offs[0] if offs else time.monotonic()) - since_mono)
    node = lab.layout.node(victim)
    entries = [e for log in ("/var/log/pacemaker/pacemaker.log", "/var/log/corosync/corosync.log")
               for e in log_lines_between(on_disk(node, log), since_wall, until_wall)]
    quorum = "lost quorum" if any("non-primary component" in x or "Quorum lost" in x for _, x in entries) else \
        "was powered off before it logged a quorum loss"
    problems = cut_side_problems(entries)
    print(f"  split: the cut side {victim} {quorum}; " + ("; ".join(problems) or "no fence request, no start"),
          flush=True)
    if problems:
        result.recovery_s = None
    return result


QUICK = [scenarios.crash, split, arbitrator_down]
FULL = [scenarios.crash] * 4 + [split, arbitrator_down]
