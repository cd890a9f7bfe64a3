"""Whose listener the agent may probe: only the unit's (its cgroup, else its main PID and descendants, or a unit
that is PartOf it); an impostor on the port gets nothing, an IPv6-only bystander neither gets nor fails it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.realtools.service_agent.harness import CGROUP_MODES, OCF_ERR_GENERIC, OCF_SUCCESS, free_port


@pytest.mark.parametrize("cgroup_mode", CGROUP_MODES)
@pytest.mark.parametrize("address", ["127.0.0.1", "::"])
def test_a_listener_that_is_not_the_unit_gets_nothing(agent_for, impostor, tmp_path, cgroup_mode, address):
    """Issue 18 item 3: while bm-core starts (its unit active, its port not yet bound), another user binds the
    port, on 127.0.0.1 or on IPv6's dual-stack wildcard, which also takes connections to 127.0.0.1. It must
    receive nothing, above all not the admin token, and cannot fake health: the monitor fails, saying why."""
    token = tmp_path / "bm-core.tok"
    token.write_text("s3cret-admin-token\n")
    core = agent_for("bm-core", cgroup_mode, port=str(free_port()), probe="core", token_file=str(token))
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
    port = free_port()
    agent = agent_for("bm-webserver", cgroup_mode, port=str(port), probe="http", method="GET", path="/")
    agent.unit_runs(f"sh -c '{sys.executable} -m http.server --bind 127.0.0.1 {port} & wait'")
    started = agent("start")
    assert started.returncode == OCF_SUCCESS, started.stderr
    assert agent("monitor").returncode == OCF_SUCCESS


@pytest.mark.parametrize("cgroup_mode", CGROUP_MODES)
def test_a_wrappers_listener_is_in_a_unit_that_is_part_of_it(agent_for, impostor, cgroup_mode):
    """Debian's postgresql.service (and postfix.service) runs nothing itself: the server is in
    postgresql@15-main.service, PartOf the wrapper. Its listener is the unit's; another's still is not."""
    port = free_port()
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


def test_an_ipv6_only_listener_neither_gets_the_probe_nor_fails_it(agent_for, impostor):
    """A socket on [::] that is IPv6-only never receives a connection to 127.0.0.1: a local user who binds one
    beside the service must not be able to fail its monitor (and so move the group)."""
    port = free_port()
    agent = agent_for("bm-tika", port=str(port), probe="http", method="GET", path="/")
    agent.unit_runs(f"{sys.executable} -m http.server --bind 127.0.0.1 {port}")
    assert agent("start").returncode == OCF_SUCCESS
    bystander = impostor("::", str(port), v6only=True)
    assert agent("monitor").returncode == OCF_SUCCESS
    assert bystander.received() == []
