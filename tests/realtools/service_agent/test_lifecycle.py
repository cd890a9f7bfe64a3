"""The agent's lifecycle: start waits for the answer, monitor fails with the service, the core probe counts
only an explicit Ok, a red Elasticsearch is logged, a broken configuration never blocks a stop."""
from __future__ import annotations

import sys

import pytest

from tests.realtools.service_agent.harness import (
    OCF_ERR_CONFIGURED,
    OCF_ERR_GENERIC,
    OCF_NOT_RUNNING,
    OCF_SUCCESS,
    free_port,
    json_server,
    wait_until_listening,
)


def test_lifecycle_a_probe_failure_is_a_failure_of_the_service_itself(agent_for):
    port = free_port()
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
    agent = agent_for("bm-node", port=str(free_port()))
    agent.unit_runs("sleep 1")
    result = agent("start")
    assert result.returncode == OCF_ERR_GENERIC and "stopped while starting" in result.stderr


def test_core_counts_only_an_explicit_ok_login(agent_for, tmp_path):
    """bm-core's answer also carries a random session key; a key that happens to read "bad" is healthy."""
    token = tmp_path / "bm-core.tok"
    token.write_text("the-token\n")
    core = agent_for("bm-core", port=str(free_port()), probe="core", token_file=str(token))
    core.unit_runs(json_server(core, {"status": "Ok", "authKey": "0bad1bad-c0de-4bad-8bad-badbadbadbad"}))
    assert core("start", timeout=60).returncode == OCF_SUCCESS
    assert core("monitor").returncode == OCF_SUCCESS

    core.start_unit_behind_pacemakers_back(json_server(core, {"status": "Bad", "message": "invalid token"}))
    wait_until_listening(core.port)
    assert core("monitor").returncode == OCF_ERR_GENERIC


def test_core_before_blueminds_setup_needs_only_an_http_answer(agent_for, tmp_path):
    """Issue 14 item 5: BlueMind writes bm-core.tok only in its setup wizard, which bm-core itself serves. Until
    the token exists, an HTTP answer below 500 on bm-core's port is healthy; once it exists, only the login."""
    token = tmp_path / "bm-core.tok"
    core = agent_for("bm-core", port=str(free_port()), probe="core", token_file=str(token))
    # bm-core during a first install: it answers HTTP, but no login can succeed (there is no token to send).
    core.start_unit_behind_pacemakers_back(json_server(core, {"status": "Bad", "message": "no setup yet"}))
    wait_until_listening(core.port)
    assert core("monitor").returncode == OCF_SUCCESS
    assert core("stop").returncode == OCF_SUCCESS
    core.unit_runs(json_server(core, {"status": "Bad", "message": "no setup yet"}))
    assert core("start", timeout=60).returncode == OCF_SUCCESS

    # An answer of 500 or more is no health, token or not.
    core.start_unit_behind_pacemakers_back(json_server(core, {"error": "starting"}, status=503))
    wait_until_listening(core.port)
    assert core("monitor").returncode == OCF_ERR_GENERIC

    # The setup wizard wrote the token: from now on the real login check runs, and a bad answer fails.
    token.write_text("the-token\n")
    core.start_unit_behind_pacemakers_back(json_server(core, {"status": "Bad", "message": "invalid token"}))
    wait_until_listening(core.port)
    failed = core("monitor")
    assert failed.returncode == OCF_ERR_GENERIC and "no healthy answer to the core probe" in failed.stderr
    core.start_unit_behind_pacemakers_back(json_server(core, {"status": "Ok", "authKey": "0123-session"}))
    wait_until_listening(core.port)
    assert core("monitor").returncode == OCF_SUCCESS


def test_a_red_elasticsearch_is_logged_not_failed(agent_for):
    """Moving the mail service cannot mend an index: red degrades search, it must not cost a failover."""
    es = agent_for("bm-elasticsearch", port=str(free_port()), probe="elasticsearch")
    es.unit_runs(json_server(es, {"cluster_name": "bluemind", "status": "red"}))
    assert es("start", timeout=60).returncode == OCF_SUCCESS
    monitored = es("monitor")
    assert monitored.returncode == OCF_SUCCESS and "status red" in monitored.stderr


@pytest.mark.parametrize("params", [{"port": "not-a-port"}, {"port": "8082", "stop_timeout": "180s"}])
def test_a_broken_configuration_is_reported_and_never_blocks_a_stop(agent_for, params):
    agent = agent_for("bm-eas", **params)
    assert agent("validate-all").returncode == OCF_ERR_CONFIGURED
    assert agent("start").returncode == OCF_ERR_CONFIGURED
    assert agent("stop").returncode == OCF_SUCCESS
