"""ocf:bluemind-ha:service, run the way pacemaker runs it (OCF_RESKEY_* environment, resource-agents' own
ocf-shellfuncs), against real services on loopback answering real curl and TCP probes.

systemd does not run on this machine, so the unit side is played by `STAND_IN_SYSTEMCTL`: a "unit" is a
command run in the background, active while that process lives. Everything the agent decides (OCF exit
codes, what counts as healthy, when start returns) is the agent's own.
"""
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
case $1 in
  daemon-reload) ;;
  is-active) alive ;;
  start) alive || { bash -c "exec $(cat "$UNITS/$unit.cmd")" </dev/null >/dev/null 2>&1 & echo $! > "$pidfile"; } ;;
  stop) if alive; then kill "$(cat "$pidfile")"; for _ in $(seq 50); do alive || break; sleep 0.1; done; fi; ! alive ;;
  *) exit 1 ;;
esac
"""

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """Runs the agent for one resource in a sandbox whose /run writes land in the test's directory (the agent
    writes its systemd drop-in under /run/systemd/system; `dropins` shows what it wrote)."""

    def __init__(self, tmp: Path, unit: str, **params: str):
        self.units, bin_dir = tmp / "units", tmp / "bin"
        for d in (self.units, bin_dir):
            d.mkdir(parents=True)
        self.sandbox = Sandbox(overlays={"/run": tmp / "run"})
        self.dropins = tmp / "run" / "systemd" / "system"
        self.stand_in = bin_dir / "systemctl"
        self.stand_in.write_text(STAND_IN_SYSTEMCTL)
        self.stand_in.chmod(0o755)
        self.unit = unit
        self.port = params.get("port", "")
        self.env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "OCF_ROOT": "/usr/lib/ocf", "UNITS": str(self.units),
                    "OCF_RESOURCE_INSTANCE": f"svc-{unit}", "OCF_RESKEY_unit": unit,
                    **{f"OCF_RESKEY_{k}": v for k, v in params.items()}}

    def unit_runs(self, command: str) -> None:
        (self.units / f"{self.unit}.cmd").write_text(command)

    def start_unit_behind_pacemakers_back(self, command: str) -> None:
        self.kill_unit()
        self.unit_runs(command)
        subprocess.run([str(self.stand_in), "start", f"{self.unit}.service"], env=self.env, check=True, timeout=10)

    def __call__(self, action: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(self.sandbox.command(str(SERVICE_AGENT_SOURCE), action), env=self.env,
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

    def make(unit: str, **params: str) -> Agent:
        made.append(Agent(tmp_path / unit, unit, **params))
        return made[-1]
    yield make
    for agent in made:
        agent.kill_unit()


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
    assert agent.calls()[1:3] == ["daemon-reload", "start bm-tika.service"]  # after the monitor's is-active
    assert agent("monitor").returncode == OCF_SUCCESS

    # The unit stays "active" but stops answering (a hung JVM looks like this): the monitor fails, so
    # pacemaker restarts this very resource, the service, not some other member.
    agent.start_unit_behind_pacemakers_back("sleep 600")
    failed = agent("monitor")
    assert failed.returncode == OCF_ERR_GENERIC and "no healthy answer" in failed.stderr

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


def test_a_red_elasticsearch_is_logged_not_failed(agent_for):
    """Moving the mail service cannot mend an index: red degrades search, it must not cost a failover."""
    es = agent_for("bm-elasticsearch", port=str(_free_port()), probe="elasticsearch")
    es.unit_runs(_json_server(es, {"cluster_name": "bluemind", "status": "red"}))
    assert es("start", timeout=60).returncode == OCF_SUCCESS
    monitored = es("monitor")
    assert monitored.returncode == OCF_SUCCESS and "status red" in monitored.stderr


def test_a_broken_configuration_is_reported_and_never_blocks_a_stop(agent_for):
    agent = agent_for("bm-eas", port="not-a-port")
    assert agent("validate-all").returncode == OCF_ERR_CONFIGURED
    assert agent("start").returncode == OCF_ERR_CONFIGURED
    assert agent("stop").returncode == OCF_SUCCESS
