"""One node's hardware and init: its namespaces, its power switch, its disk, its daemons.

Run as `python -m lab.machine STACK NODE` inside the node's network namespace, after `unshare --mount --uts`
(lab.nodes starts it so). The machine process lives as long as the lab; it is not one of the node's
processes: power off and crash spare it. It
- pins the node's mount and UTS namespaces: hostname, the node's disk (bind mounts of its work dir over
  /etc/corosync, /var/lib/pacemaker, /var/lib/corosync, /var/log and /etc/bluemind-ha) and
  /dev/disk (a tmpfs with the LUNs' by-path and by-label names as symlinks to the loop devices);
- powers on: fresh /run and /dev/shm (tmpfs), the host firewall loaded (/etc/bluemind-ha/nftables.conf, as
  its unit does at boot), the NIC up with the node's address, after BOOT_S (or the
  seconds given: `on 0` for the lab's cold start) `corosync -f`, then `pacemakerd -f` once corosync answers;
- crashes: SIGKILL every process of the node's network namespace, nothing else (what the LUNs' mounts and
  the VIP do then is what a hung kernel would do: they stay until the BMC powers the node off);
- powers off: the same kill, then unmounts the LUNs, drops /run and /dev/shm and unconfigures the NIC;
- reaps every orphan of the node (a child subreaper: the machine's PID 1 does not reap, and a zombie
  postmaster would look alive to the pgsql agent).
Commands arrive one line at a time on a Unix socket (lab.chassis, the runner): power, on [seconds], off,
crash.
Each power event is appended to power.log with its CLOCK_MONOTONIC time, which the runner reads.
"""
from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

from components.render.firewall import RULES_PATH, TABLE
from lab.disks import MAPPING
from lab.layout import Layout, NodeLayout
from lab.proc import kill_namespace, namespace_inode, run

PR_SET_CHILD_SUBREAPER = 36
NODE_DISK = {"etc-corosync": "/etc/corosync", "var-lib-pacemaker": "/var/lib/pacemaker",
             "var-lib-corosync": "/var/lib/corosync", "var-log": "/var/log", "etc-bluemind-ha": "/etc/bluemind-ha"}
DEV_DISK = "/dev/disk"  # a tmpfs of the node's own: by-path and by-label, as udev names the LUNs
BOOT_TMPFS = {"/run": "0755", "/dev/shm": "1777"}
# A server takes time from power-on to its cluster stack (firmware, kernel, services). Without it a fenced
# node rejoins while the survivor is still taking over, and the join aborts the takeover's transition.
BOOT_S = 15


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class Machine:
    def __init__(self, layout: Layout, node: NodeLayout):
        self.layout, self.node = layout, node
        self.netns = namespace_inode("/proc/self/ns/net")
        self.power = 0
        self.booting_until: float | None = None
        self.corosync_starting = False
        self.loops = set(json.loads(MAPPING.read_text()).values())

    # -- the chassis, set up once -----------------------------------------------------------------------
    def assemble(self) -> None:
        socket.sethostname(self.node.name)
        # sysfs shows the network namespace of whoever mounts it: the node's, like `ip netns exec` does.
        run(["umount", "--lazy", "/sys"])
        run(["mount", "-t", "sysfs", "sysfs", "/sys"])
        for directory, target in NODE_DISK.items():
            run(["mount", "--bind", str(self.node.disk / directory), target])
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "disk", DEV_DISK])
        for name, device in json.loads(MAPPING.read_text()).items():
            os.makedirs(os.path.dirname(name), exist_ok=True)
            os.symlink(device, name)

    # -- power ------------------------------------------------------------------------------------------
    def power_on(self, boot_s: float = BOOT_S) -> None:
        if self.power:
            return
        for path, mode in BOOT_TMPFS.items():
            run(["mount", "-t", "tmpfs", "-o", f"mode={mode},nosuid,nodev", "boot", path])
        # The host firewall, as its unit loads it at boot, before the network is up.
        run(["nft", "-f", RULES_PATH])
        run(["ip", "link", "set", self.layout.nic, "up"])
        run(["ip", "addr", "add", self.node.address, "dev", self.layout.nic])
        self.booting_until = time.monotonic() + boot_s
        self.power = 1
        self.event("on")

    def crash(self) -> None:
        killed = kill_namespace("net", self.netns, exclude=[os.getpid()])
        self.booting_until, self.corosync_starting = None, False
        self.event(f"crash killed={killed}")

    def power_off(self) -> None:
        if not self.power:
            return
        killed = kill_namespace("net", self.netns, exclude=[os.getpid()])
        self.booting_until, self.corosync_starting = None, False
        self.reap()
        for mount_point in self.lun_mounts():
            run(["umount", mount_point])
        for path in BOOT_TMPFS:
            run(["umount", path])
        run(["ip", "addr", "flush", "dev", self.layout.nic])
        run(["ip", "link", "set", self.layout.nic, "down"])
        run(["nft", "delete", "table", "inet", TABLE], check=False)  # the kernel's rules go with the power
        self.power = 0
        self.event(f"off killed={killed}")

    def lun_mounts(self) -> list[str]:
        """Mount points of the LUNs in this node's mount namespace, deepest first."""
        found = []
        with open("/proc/self/mountinfo") as mountinfo:
            for line in mountinfo:
                fields = line.split()
                source = fields[fields.index("-") + 2]
                if source in self.loops:
                    found.append(fields[4])
        return sorted(found, key=len, reverse=True)

    # -- the node's init ----------------------------------------------------------------------------------
    def spawn(self, cmd: list[str]) -> None:
        with open(self.node.work / "console.log", "ab") as console:
            subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=console, stderr=console, cwd="/")

    def tick(self) -> None:
        self.reap()
        if self.booting_until is not None and time.monotonic() >= self.booting_until:
            self.booting_until, self.corosync_starting = None, True
            self.spawn(["corosync", "-f"])
            self.event("corosync")
        if self.corosync_starting and run(["corosync-cfgtool", "-s"], timeout=5, check=False).returncode == 0:
            self.corosync_starting = False
            self.spawn(["pacemakerd", "-f"])
            self.event("pacemakerd")
            if self.layout.settings.qdevice:  # with corosync, as its unit's drop-in does (lab.qnetd)
                from lab.qnetd import start_qdevice
                start_qdevice(self.spawn)

    @staticmethod
    def reap() -> None:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def event(self, what: str) -> None:
        with open(self.node.power_log, "a") as f:
            f.write(f"{time.monotonic():.3f} {what}\n")
        log(what)

    # -- the control socket -------------------------------------------------------------------------------
    def handle(self, line: str) -> str:
        command, *args = line.split()
        if command == "power":
            return str(self.power)
        actions = {"on": self.power_on, "off": self.power_off, "crash": self.crash}
        if command not in actions:
            return f"error unknown command {line!r}"
        actions[command](*map(float, args))
        return f"ok {self.power}"

    def serve(self) -> None:
        path = self.node.machine_socket
        if path.exists():
            path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        server.listen(8)
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
        log(f"{self.node.name} ready")
        while not stop:
            readable, _, _ = select.select([server], [], [], 0.2)
            if readable:
                connection, _ = server.accept()
                with connection:
                    connection.settimeout(5)
                    try:
                        command = connection.makefile().readline().strip()
                        reply = self.handle(command)
                    except Exception as exc:  # a failed command must not take the machine down
                        reply = f"error {exc}"
                        log(f"{command}: {exc}")
                    connection.sendall((reply + "\n").encode())
            self.tick()
        self.power_off()
        path.unlink()


def main() -> None:
    from lab.qnetd import load_settings  # a stack file's, or the qdevice profile's

    stack, name = sys.argv[1], sys.argv[2]
    layout = Layout(load_settings(stack))
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    machine = Machine(layout, layout.node(name))
    machine.assemble()
    machine.serve()


if __name__ == "__main__":
    main()
