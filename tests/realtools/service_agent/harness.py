"""The harness of the service agent's tests: the stand-in systemctl, the servers playing BlueMind's
services, a listener that is not the unit, and the agent run in a sandbox (see __init__.py)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.agents import SERVICE_AGENT_SOURCE
from tests.realtools.sandbox import Sandbox

OCF_SUCCESS, OCF_ERR_GENERIC, OCF_ERR_CONFIGURED, OCF_NOT_RUNNING = 0, 1, 6, 7

STAND_IN_SYSTEMCTL = r"""#!/bin/bash
# systemctl for a machine without systemd: a unit is the command in $UNITS/<unit>.cmd, started in the
# background; it is active while that process lives. Every call is logged to $UNITS/calls.
echo "$*" >> "$UNITS/calls"
unit=${!#}; unit=${unit%.service}; pidfile="$UNITS/$unit.pid"
# A killed unit may linger as a zombie (this machine's PID 1 does not reap): that is not alive.
alive() { [ -f "$pidfile" ] && awk '$3 != "Z" { found = 1 } END { exit !found }' "/proc/$(cat "$pidfile")/stat" 2>/dev/null; }
tree() { echo "$1"; local child; for child in $(ps -o pid= --ppid "$1"); do tree "$child"; done; }
# A unit listed in $UNITS/<unit>.parts is a wrapper with no process of its own, like Debian's
# postgresql.service (oneshot, ExecStart=/bin/true): starting or stopping it starts or stops the units that
# are PartOf it, which it lists as ConsistsOf; it is active while one of them is.
if [ -f "$UNITS/$unit.parts" ]; then
  case $1 in
    is-active) for part in $(cat "$UNITS/$unit.parts"); do "$0" is-active --quiet "$part" && exit 0; done; exit 1 ;;
    start|stop) for part in $(cat "$UNITS/$unit.parts"); do "$0" "$1" "$part.service" || exit 1; done; exit 0 ;;
    show) case $3 in MainPID) echo 0 ;; ControlGroup) echo ;; ConsistsOf) echo $(sed 's/$/.service/' "$UNITS/$unit.parts") ;; *) exit 1 ;; esac; exit 0 ;;
  esac
fi
# `show -p P --value U`, as systemd answers it: an inactive unit has MainPID 0 and no ControlGroup.
show() {
  case $1 in
    MainPID) if alive; then cat "$pidfile"; else echo 0; fi ;;
    ControlGroup)
      if alive && [ "$CGROUP_MODE" != none ]; then
        cg=/system.slice/$unit.service
        # Playing the kernel: every process the unit's main process forked is in its cgroup.
        if [ "$CGROUP_MODE" = cgroupfs ]; then mkdir -p "$CGROUPS$cg"; tree "$(cat "$pidfile")" > "$CGROUPS$cg/cgroup.procs"; fi
        echo "$cg"
      else
        echo
      fi ;;
    ConsistsOf) echo ;;
    *) exit 1 ;;
  esac
}
case $1 in
  daemon-reload) ;;
  is-active) alive ;;
  start) alive || { bash -c "exec $(cat "$UNITS/$unit.cmd")" </dev/null >/dev/null 2>&1 & echo $! > "$pidfile"; } ;;
  stop) if alive; then kill "$(cat "$pidfile")"; for _ in $(seq 50); do alive || break; sleep 0.1; done; fi; ! alive ;;
  show) [ "$2" = -p ] && [ "$4" = --value ] && [ $# = 5 ] || exit 1; show "$3" ;;
  *) exit 1 ;;
esac
"""

# What systemd tells of a unit's processes: cgroupfs, a ControlGroup readable under /sys/fs/cgroup (the
# agent checks the listener against its cgroup.procs); none, no ControlGroup (the agent falls back to the
# main PID and its descendants); unreadable, a ControlGroup that this /sys/fs/cgroup does not hold (the
# same fallback).
CGROUP_MODES = ("cgroupfs", "none", "unreadable")

# One JSON body for every request (with HTTP status argv[3], 200 by default): bm-core's login answer, or
# Elasticsearch's cluster health.
JSON_SERVER = """
import http.server, sys
body = open(sys.argv[2], 'rb').read()
status = int(sys.argv[3]) if len(sys.argv) > 3 else 200
class Answer(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.send_response(status); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = _answer
    def log_message(self, *args): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), Answer).serve_forever()
"""


# A process that is not the unit, listening on the unit's port as user nobody: it prints, one JSON string
# a line, what each connection sent it, and answers every request like a healthy bm-core would.
IMPOSTOR = r"""
import json, socket, sys
address, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ':' in address else socket.AF_INET
server = socket.socket(family)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if family == socket.AF_INET6:
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(sys.argv[3]))
server.bind((address, port)); server.listen()
print('listening', flush=True)
body = b'{"status":"Ok","authKey":"faked-session"}'
while True:
    connection, _ = server.accept()
    connection.settimeout(2)
    received = b''
    try:
        while b'\r\n\r\n' not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, rest = received.partition(b'\r\n\r\n')
        length = next((int(line.split(b':')[1]) for line in head.split(b'\r\n')
                       if line.lower().startswith(b'content-length:')), 0)
        while len(rest) < length:
            rest += connection.recv(65536)
        received = head + b'\r\n\r\n' + rest if rest or received.endswith(b'\r\n\r\n') else received
        if received:
            connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
    except OSError:
        pass
    print(json.dumps(received.decode(errors='replace')), flush=True)
    connection.close()
"""


SYSTEM_PYTHON = "/usr/bin/python3"


class Impostor:
    """IMPOSTOR run as nobody on `address`:`port` (for an IPv6 address, dual-stack unless `v6only`)."""

    def __init__(self, address: str, port: str, v6only: bool = False):
        self.process = subprocess.Popen(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", SYSTEM_PYTHON, "-c", IMPOSTOR,
             address, port, str(int(v6only))], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "listening"

    def received(self) -> list[str]:
        """What every connection sent, once the impostor is stopped."""
        kill_and_wait(self.process.pid)
        out, _ = self.process.communicate(timeout=10)
        return [json.loads(line) for line in out.splitlines()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """Runs the agent for one resource in a sandbox whose /run writes land in the test's directory (the agent
    writes its systemd drop-in under /run/systemd/system; `dropins` shows what it wrote)."""

    def __init__(self, tmp: Path, unit: str, cgroup_mode: str = "cgroupfs", **params: str):
        self.units, bin_dir, cgroups = tmp / "units", tmp / "bin", tmp / "cgroupfs"
        for d in (self.units, bin_dir, cgroups):
            d.mkdir(parents=True)
        # The agent's /sys/fs/cgroup is the test's: empty ("unreadable"), or what the stand-in writes.
        self.sandbox = Sandbox(binds={"/sys/fs/cgroup": cgroups}, overlays={"/run": tmp / "run"})
        self.dropins = tmp / "run" / "systemd" / "system"
        self.stand_in = bin_dir / "systemctl"
        self.stand_in.write_text(STAND_IN_SYSTEMCTL)
        self.stand_in.chmod(0o755)
        self.unit = unit
        self.port = params.get("port", "")
        self.env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "OCF_ROOT": "/usr/lib/ocf", "UNITS": str(self.units),
                    "CGROUP_MODE": cgroup_mode, "CGROUPS": str(cgroups),
                    "OCF_RESOURCE_INSTANCE": f"svc-{unit}", "OCF_RESKEY_unit": unit,
                    **{f"OCF_RESKEY_{k}": v for k, v in params.items()}}

    def unit_runs(self, command: str) -> None:
        (self.units / f"{self.unit}.cmd").write_text(command)

    def unit_is_a_wrapper_of(self, part: str, command: str) -> None:
        """The unit has no process of its own: `part` (PartOf the unit) runs `command`."""
        (self.units / f"{self.unit}.parts").write_text(part + "\n")
        (self.units / f"{part}.cmd").write_text(command)

    def start_unit_behind_pacemakers_back(self, command: str) -> None:
        self.kill_unit()
        self.unit_runs(command)
        subprocess.run([str(self.stand_in), "start", f"{self.unit}.service"], env=self.env, check=True, timeout=10)

    def __call__(self, action: str, timeout: float = 30, meta_timeout_ms: int | None = None) -> subprocess.CompletedProcess:
        """`meta_timeout_ms`: the op's timeout, which pacemaker gives every action as OCF_RESKEY_CRM_meta_timeout."""
        env = self.env if meta_timeout_ms is None else {**self.env, "OCF_RESKEY_CRM_meta_timeout": str(meta_timeout_ms)}
        return subprocess.run(self.sandbox.command(str(SERVICE_AGENT_SOURCE), action), env=env,
                              capture_output=True, text=True, timeout=timeout)

    def calls(self) -> list[str]:
        path = self.units / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def kill_unit(self) -> None:
        """SIGKILL the unit's process and wait until it is gone (or a zombie): a start right after must not
        find the old process still alive."""
        pidfile = self.units / f"{self.unit}.pid"
        if pidfile.exists():
            kill_and_wait(int(pidfile.read_text()))

    def kill_everything(self) -> None:
        """Every process this agent's runs left: the stand-in passes its environment (UNITS=) to the units it
        starts and to their children, and the agent has it too (a start that timed out, still waiting)."""
        mark = f"UNITS={self.units}".encode()
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if mark in environ.read_bytes().split(b"\0"):
                    kill_and_wait(int(environ.parent.name))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                pass


def kill_and_wait(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.05)


def json_server(agent: Agent, body: dict, status: int = 200) -> str:
    """The unit's command: a server on the agent's port answering `body` to every request."""
    script, answer = agent.units / "json_server.py", agent.units / f"answer-{len(list(agent.units.glob('answer-*')))}.json"
    script.write_text(JSON_SERVER)
    answer.write_text(json.dumps(body))
    return f"{sys.executable} {script} {agent.port} {answer} {status}"


def wait_until_listening(port: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", int(port))) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"nothing listens on 127.0.0.1:{port}")
