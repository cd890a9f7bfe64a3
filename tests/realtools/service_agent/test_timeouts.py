"""The CIB's op timeouts become the units' own (a runtime drop-in, checked by systemd-analyze), on the unit
that runs the server too, and systemd's stop timeout ends inside the stop op's."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.realtools.service_agent.harness import OCF_SUCCESS, free_port

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
    port = free_port()
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
    port = free_port()
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
    port = free_port()
    agent = agent_for("bm-node", port=str(port), stop_timeout=stop_timeout)
    agent.unit_runs(f"{sys.executable} -m http.server --bind 127.0.0.1 {port}")
    assert agent("start", meta_timeout_ms=60000).returncode == OCF_SUCCESS
    assert f"TimeoutStopSec={budget}" in (agent.dropins / "bm-node.service.d" / "50-bluemind-ha.conf").read_text()
