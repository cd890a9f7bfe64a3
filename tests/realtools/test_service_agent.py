"""ocf:bluemind-ha:service, run the way pacemaker runs it (OCF_RESKEY_* environment, resource-agents' own
ocf-shellfuncs), against real services on loopback answering real curl and TCP probes.

systemd does not run on this machine, so the unit side is played by `STAND_IN_SYSTEMCTL`: a "unit" is a
command run in the background, active while that process lives. Everything the agent decides (OCF exit
codes, what counts as healthy, when start returns, whose listener it may probe) is the agent's own.

What systemd says of a unit's processes (`systemctl show -p ControlGroup|MainPID --value`) comes in the
`CGROUP_MODES` a node can be in: a readable cgroup, a unit whose ControlGroup is empty, or one whose cgroup
cannot be read here. For the first, a directory in the test stands in for /sys/fs/cgroup in the agent's
sandbox, and the stand-in plays the kernel: the unit's cgroup.procs holds the unit's process tree.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.agents import SERVICE_AGENT_SOURCE
from tests.conftest import require_root, require_tool
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
        _kill_and_wait(self.process.pid)
        out, _ = self.process.communicate(timeout=10)
        return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def impostor():
    require_tool("setpriv")
    if not Path(SYSTEM_PYTHON).exists():  # nobody cannot run a Python under /root (pyenv, this venv)
        pytest.fail(f"{SYSTEM_PYTHON} is not installed (Debian's python3)")
    made: list[Impostor] = []

    def make(address: str, port: str, v6only: bool = False) -> Impostor:
        made.append(Impostor(address, port, v6only))
        return made[-1]
    yield make
    for one in made:
        if one.process.poll() is None:
            one.received()


def _free_port() -> int:
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
            _kill_and_wait(int(pidfile.read_text()))

    def kill_everything(self) -> None:
        """Every process this agent's runs left: the stand-in passes its environment (UNITS=) to the units it
        starts and to their children, and the agent has it too (a start that timed out, still waiting)."""
        mark = f"UNITS={self.units}".encode()
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if mark in environ.read_bytes().split(b"\0"):
                    _kill_and_wait(int(environ.parent.name))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                pass


def _kill_and_wait(pid: int) -> None:
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


@pytest.fixture
def agent_for(tmp_path):
    require_root()
    require_tool("unshare", "curl")
    if not Path("/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs").exists():
        pytest.fail("resource-agents is not installed (run `make deps` as root)")
    made: list[Agent] = []

    def make(unit: str, cgroup_mode: str = "cgroupfs", **params: str) -> Agent:
        made.append(Agent(tmp_path / unit, unit, cgroup_mode, **params))
        return made[-1]
    yield make
    for agent in made:
        agent.kill_everything()


def _json_server(agent: Agent, body: dict, status: int = 200) -> str:
    """The unit's command: a server on the agent's port answering `body` to every request."""
    script, answer = agent.units / "json_server.py", agent.units / f"answer-{len(list(agent.units.glob('answer-*')))}.json"
    script.write_text(JSON_SERVER)
    answer.write_text(json.dumps(body))
    return f"{sys.executable} {script} {agent.port} {answer} {status}"


def _wait_until_listening(port: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", int(port))) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"nothing listens on 127.0.0.1:{port}")


def test_lifecycle_a_probe_failure_is_a_failure_of_the_service_itself(agent_for):
    port = _free_port()
    agent = agent_for("bm-tika", port=str(port), probe="http", method="GET", path="/")
    agent.unit_runs(f"{sys.executable} -m http.server --bind 127.0.0.1 {port}")

    assert agent("monitor").returncode == OCF_NOT_RUNNING      # a probe on the passive node: cleanly stopped
    started = agent("start")
    assert started.returncode == OCF_SUCCESS, started.stderr
    dropin = (agent.dropins / "bm-tika.service.d" / "50-bluemind-ha.conf").read_text()
    assert "Before=pacemaker.service" in dropin and "Restart=no" in dropin
    # After the monitor's is-active; `show` calls (the unit's parts, its processes) left out.
    assert [c for c in agent.calls() if not c.startswith("show ")][1:3] == ["daemon-reload", "start bm-tika.service"]
    assert agent("monitor").returncode == OCF_SUCCESS

    # The unit stays "active" but stops answering (a hung JVM looks like this): the monitor fails, so
    # pacemaker restarts this very resource, the service, not some other member.
    agent.start_unit_behind_pacemakers_back("sleep 600")
    failed = agent("monitor")
    assert failed.returncode == OCF_ERR_GENERIC
    assert f"no healthy answer to the http probe on port {port}: nothing listens on 127.0.0.1:{port}" in failed.stderr

    assert agent("stop").returncode == OCF_SUCCESS
    assert agent("monitor").returncode == OCF_NOT_RUNNING
    assert agent("stop").returncode == OCF_SUCCESS             # stopping a stopped service succeeds


def test_start_fails_when_the_unit_dies_before_it_answers(agent_for):
    agent = agent_for("bm-node", port=str(_free_port()))
    agent.unit_runs("sleep 1")
    result = agent("start")
    assert result.returncode == OCF_ERR_GENERIC and "stopped while starting" in result.stderr


def test_core_counts_only_an_explicit_ok_login(agent_for, tmp_path):
    """bm-core's answer also carries a random session key; a key that happens to read "bad" is healthy."""
    token = tmp_path / "bm-core.tok"
    token.write_text("the-token\n")
    core = agent_for("bm-core", port=str(_free_port()), probe="core", token_file=str(token))
    core.unit_runs(_json_server(core, {"status": "Ok", "authKey": "0bad1bad-c0de-4bad-8bad-badbadbadbad"}))
    assert core("start", timeout=60).returncode == OCF_SUCCESS
    assert core("monitor").returncode == OCF_SUCCESS

    core.start_unit_behind_pacemakers_back(_json_server(core, {"status": "Bad", "message": "invalid token"}))
    _wait_until_listening(core.port)
    assert core("monitor").returncode == OCF_ERR_GENERIC


def test_core_before_blueminds_setup_needs_only_an_http_answer(agent_for, tmp_path):
    """Issue 14 item 5: BlueMind writes bm-core.tok only in its setup wizard, which bm-core itself serves. Until
    the token exists, an HTTP answer below 500 on bm-core's port is healthy; once it exists, only the login."""
    token = tmp_path / "bm-core.tok"
    core = agent_for("bm-core", port=str(_free_port()), probe="core", token_file=str(token))
    # bm-core during a first install: it answers HTTP, but no login can succeed (there is no token to send).
    core.start_unit_behind_pacemakers_back(_json_server(core, {"status": "Bad", "message": "no setup yet"}))
    _wait_until_listening(core.port)
    assert core("monitor").returncode == OCF_SUCCESS
    assert core("stop").returncode == OCF_SUCCESS
    core.unit_runs(_json_server(core, {"status": "Bad", "message": "no setup yet"}))
    assert core("start", timeout=60).returncode == OCF_SUCCESS

    # An answer of 500 or more is no health, token or not.
    core.start_unit_behind_pacemakers_back(_json_server(core, {"error": "starting"}, status=503))
    _wait_until_listening(core.port)
    assert core("monitor").returncode == OCF_ERR_GENERIC

    # The setup wizard wrote the token: from now on the real login check runs, and a bad answer fails.
    token.write_text("the-token\n")
    core.start_unit_behind_pacemakers_back(_json_server(core, {"status": "Bad", "message": "invalid token"}))
    _wait_until_listening(core.port)
    failed = core("monitor")
    assert failed.returncode == OCF_ERR_GENERIC and "no healthy answer to the core probe" in failed.stderr
    core.start_unit_behind_pacemakers_back(_json_server(core, {"status": "Ok", "authKey": "0123-session"}))
    _wait_until_listening(core.port)
    assert core("monitor").returncode == OCF_SUCCESS


@pytest.mark.parametrize("cgroup_mode", CGROUP_MODES)
@pytest.mark.parametrize("address", ["127.0.0.1", "::"])
def test_a_listener_that_is_not_the_unit_gets_nothing(agent_for, impostor, tmp_path, cgroup_mode, address):
    """Issue 18 item 3: while bm-core starts (its unit active, its port not yet bound), another user binds the
    port, on 127.0.0.1 or on IPv6's dual-stack wildcard, which also takes connections to 127.0.0.1. It must
    receive nothing, above all not the admin token, and cannot fake health: the monitor fails, saying why."""
    token = tmp_path / "bm-core.tok"
    token.write_text("s3cret-admin-token\n")
    core = agent_for("bm-core", cgroup_mode, port=str(_free_port()), probe="core", token_file=str(token))
    core.start_unit_behind_pacemakers_back("sleep 600")
    thief = impostor(address, core.port)

    monitored = core("monitor")
    received = thief.received()
    assert received == [], f"the impostor received {received}"
    assert monitored.returncode == OCF_ERR_GENERIC
    assert (f"port {core.port} is held by PID {thief.process.pid} (nobody python3), which is not a process of "
            "bm-core.service; nothing was sent to it") in monitored.stderr


@pytest.mark.parametrize("cgroup_mode", CGROUP_MODES)
def test_a_listener_forked_by_the_units_main_process_is_the_unit(agent_for, cgroup_mode):
    """The process that listens need not be the main one: a child of it is in the unit's cgroup, or among the
    main PID's descendants where the cgroup cannot be read."""
    port = _free_port()
    agent = agent_for("bm-webserver", cgroup_mode, port=str(port), probe="http", method="GET", path="/")
    agent.unit_runs(f"sh -c '{sys.executable} -m http.server --bind 127.0.0.1 {port} & wait'")
    started = agent("start")
    assert started.returncode == OCF_SUCCESS, started.stderr
    assert agent("monitor").returncode == OCF_SUCCESS


@pytest.mark.parametrize("cgroup_mode", CGROUP_MODES)
def test_a_wrappers_listener_is_in_a_unit_that_is_part_of_it(agent_for, impostor, cgroup_mode):
    """Debian's postgresql.service (and postfix.service) runs nothing itself: the server is in
    postgresql@15-main.service, PartOf the wrapper. Its listener is the unit's; another's still is not."""
    port = _free_port()
    pg = agent_for("postgresql", cgroup_mode, port=str(port), stop_timeout="180")
    pg.unit_is_a_wrapper_of("postgresql@15-main", f"{sys.executable} -m http.server --bind 127.0.0.1 {port}")
    started = pg("start", meta_timeout_ms=180000)
    assert started.returncode == OCF_SUCCESS, started.stderr
    assert pg("monitor").returncode == OCF_SUCCESS

    assert pg("stop").returncode == OCF_SUCCESS
    (pg.units / "postgresql@15-main.cmd").write_text("sleep 600")
    subprocess.run([str(pg.stand_in), "start", "postgresql.service"], env=pg.env, check=True, timeout=10)
    thief = impostor("127.0.0.1", str(port))
    failed = pg("monitor")
    assert thief.received() == []
    assert failed.returncode == OCF_ERR_GENERIC and "which is not a process of postgresql.service" in failed.stderr


# Debian's postgresql@.service (postgresql-common): the server's unit, PartOf the postgresql.service wrapper.
POSTGRESQL_INSTANCE_UNIT = """[Unit]
Description=PostgreSQL Cluster %i
PartOf=postgresql.service
Before=postgresql.service
DefaultDependencies=no

[Service]
Type=forking
ExecStart=/usr/bin/postgresql@15-main
TimeoutStartSec=0
TimeoutStopSec=1h
"""


def test_the_timeouts_go_to_the_unit_that_runs_the_server(agent_for):
    """Issue 14 item 3, for a wrapper: postgresql@15-main.service, not postgresql.service, runs PostgreSQL,
    and its own TimeoutStopSec=1h would outlast the CIB's 180 s stop (a failed stop fences the node)."""
    require_tool("systemd-analyze")
    port = _free_port()
    pg = agent_for("postgresql", port=str(port), stop_timeout="180")
    pg.unit_is_a_wrapper_of("postgresql@15-main", f"{sys.executable} -m http.server --bind 127.0.0.1 {port}")
    assert _effective_timeouts(POSTGRESQL_INSTANCE_UNIT, pg.dropins, "postgresql@15-main") == {
        "TimeoutStartSec": "infinity", "TimeoutStopSec": "1h"}
    started = pg("start", meta_timeout_ms=180000)
    assert started.returncode == OCF_SUCCESS, started.stderr
    for unit in ("postgresql", "postgresql@15-main"):
        dropin = (pg.dropins / f"{unit}.service.d" / "50-bluemind-ha.conf").read_text().splitlines()
        assert dropin[-2:] == ["TimeoutStartSec=180s", "TimeoutStopSec=162s"], unit
    assert _effective_timeouts(POSTGRESQL_INSTANCE_UNIT, pg.dropins, "postgresql@15-main") == {
        "TimeoutStartSec": "3min", "TimeoutStopSec": "2min 42s"}


def test_an_ipv6_only_listener_neither_gets_the_probe_nor_fails_it(agent_for, impostor):
    """A socket on [::] that is IPv6-only never receives a connection to 127.0.0.1: a local user who binds one
    beside the service must not be able to fail its monitor (and so move the group)."""
    port = _free_port()
    agent = agent_for("bm-tika", port=str(port), probe="http", method="GET", path="/")
    agent.unit_runs(f"{sys.executable} -m http.server --bind 127.0.0.1 {port}")
    assert agent("start").returncode == OCF_SUCCESS
    bystander = impostor("::", str(port), v6only=True)
    assert agent("monitor").returncode == OCF_SUCCESS
    assert bystander.received() == []


# bm-core's unit as BlueMind ships it caps its start at 300 s, and says how long a stop may take. (No default
# dependencies: the verifying root holds no sysinit.target.)
UNIT_WITH_ITS_OWN_TIMEOUTS = """[Unit]
Description=BlueMind Core
DefaultDependencies=no

[Service]
ExecStart=/usr/bin/bm-core
TimeoutStartSec=300
TimeoutStopSec=90s
"""


def _effective_timeouts(unit_file: str, dropins: Path, unit: str) -> dict[str, str]:
    """TimeoutStartSec/TimeoutStopSec of `unit` as systemd itself loads it (systemd-analyze verify, which prints
    the loaded unit at debug level) from `unit_file` in /etc/systemd/system plus the drop-ins in `dropins`
    (the agent's /run/systemd/system)."""
    root = dropins.parent.parent.parent / "systemd-root"
    (root / "etc/systemd/system").mkdir(parents=True, exist_ok=True)
    (root / "etc/systemd/system" / f"{unit}.service").write_text(unit_file)
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    (root / "usr/bin" / unit).write_text("#!/bin/sh\n")
    (root / "usr/bin" / unit).chmod(0o755)
    runtime = root / "run/systemd/system"
    shutil.rmtree(runtime, ignore_errors=True)
    if dropins.exists():
        shutil.copytree(dropins, runtime)
    result = subprocess.run(["systemd-analyze", f"--root={root}", "verify", f"{unit}.service"],
                            env={**os.environ, "SYSTEMD_LOG_LEVEL": "debug"}, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if "50-bluemind-ha.conf:" in line], result.stderr
    found = dict(line.strip().split(": ", 1) for line in result.stdout.splitlines()
                 if line.strip().startswith(("TimeoutStartSec: ", "TimeoutStopSec: ")))
    assert set(found) == {"TimeoutStartSec", "TimeoutStopSec"}, result.stderr
    return found


def test_the_cibs_op_timeouts_are_the_units_timeouts(agent_for):
    """Issue 14 item 3: a unit's own TimeoutStartSec (bm-core: 300 s) would silently cap the CIB's 600 s start.
    The drop-in the agent writes at start holds TimeoutStartSec from the start's CRM meta timeout, and a
    TimeoutStopSec that ends (with systemd's SIGKILL) inside the stop op's timeout, passed as stop_timeout."""
    require_tool("systemd-analyze")
    port = _free_port()
    core = agent_for("bm-core", port=str(port), stop_timeout="180")
    core.unit_runs(f"{sys.executable} -m http.server --bind 127.0.0.1 {port}")
    dropin_dir = core.dropins / "bm-core.service.d"
    assert _effective_timeouts(UNIT_WITH_ITS_OWN_TIMEOUTS, core.dropins, "bm-core") == {
        "TimeoutStartSec": "5min", "TimeoutStopSec": "1min 30s"}       # the unit's own, without the agent

    started = core("start", meta_timeout_ms=600000)
    assert started.returncode == OCF_SUCCESS, started.stderr
    dropin = (dropin_dir / "50-bluemind-ha.conf").read_text().splitlines()
    assert dropin[-3:] == ["Restart=no", "TimeoutStartSec=600s", "TimeoutStopSec=162s"]
    assert _effective_timeouts(UNIT_WITH_ITS_OWN_TIMEOUTS, core.dropins, "bm-core") == {
        "TimeoutStartSec": "10min", "TimeoutStopSec": "2min 42s"}
    assert core.calls().count("daemon-reload") == 1

    # The same start again changes nothing; a start whose timeout changed in the CIB rewrites the drop-in.
    assert core("start", meta_timeout_ms=600000).returncode == OCF_SUCCESS
    assert core.calls().count("daemon-reload") == 1
    assert core("stop", meta_timeout_ms=180000).returncode == OCF_SUCCESS
    assert core("start", meta_timeout_ms=900500).returncode == OCF_SUCCESS
    assert "TimeoutStartSec=901s" in (dropin_dir / "50-bluemind-ha.conf").read_text().splitlines()
    assert core.calls().count("daemon-reload") == 2

    # A stop whose timeout is not stop_timeout: TimeoutStopSec was derived from the wrong value, and the log says so.
    stopped = core("stop", meta_timeout_ms=120000)
    assert stopped.returncode == OCF_SUCCESS
    assert "stop_timeout is 180s but this stop's timeout is 120s" in stopped.stderr


@pytest.mark.parametrize("stop_timeout, budget", [("20", "15s"), ("60", "54s"), ("3", "1s")])
def test_systemds_stop_timeout_ends_inside_the_stop_ops(agent_for, stop_timeout, budget):
    port = _free_port()
    agent = agent_for("bm-node", port=str(port), stop_timeout=stop_timeout)
    agent.unit_runs(f"{sys.executable} -m http.server --bind 127.0.0.1 {port}")
    assert agent("start", meta_timeout_ms=60000).returncode == OCF_SUCCESS
    assert f"TimeoutStopSec={budget}" in (agent.dropins / "bm-node.service.d" / "50-bluemind-ha.conf").read_text()


def test_a_red_elasticsearch_is_logged_not_failed(agent_for):
    """Moving the mail service cannot mend an index: red degrades search, it must not cost a failover."""
    es = agent_for("bm-elasticsearch", port=str(_free_port()), probe="elasticsearch")
    es.unit_runs(_json_server(es, {"cluster_name": "bluemind", "status": "red"}))
    assert es("start", timeout=60).returncode == OCF_SUCCESS
    monitored = es("monitor")
    assert monitored.returncode == OCF_SUCCESS and "status red" in monitored.stderr


@pytest.mark.parametrize("params", [{"port": "not-a-port"}, {"port": "8082", "stop_timeout": "180s"}])
def test_a_broken_configuration_is_reported_and_never_blocks_a_stop(agent_for, params):
    agent = agent_for("bm-eas", **params)
    assert agent("validate-all").returncode == OCF_ERR_CONFIGURED
    assert agent("start").returncode == OCF_ERR_CONFIGURED
    assert agent("stop").returncode == OCF_SUCCESS
