"""The SMTP alert agent (components/agents/alert_smtp) against a local SMTP sink: pacemaker's events, as
pacemaker passes them (CRM_alert_* variables plus the alert's instance attributes), reach the recipient
through the relay, never through the node's sendmail. And the rendered CIB and the cluster-agents step
wire it up."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET

import pytest

from components.agents import (
    ALERT_AGENT_PATH,
    ALERT_AGENT_SOURCE,
    alert_agent_source,
)
from components.render import node_scripts
from components.render.cib import render_cib
from components.render.cib_nvsets import INSTANCE, nvpairs
from tests.smtp_sink import Sink as _Sink
from tools.stackfile import load_settings

# The agent's interpreter on a node is the system's (its shebang), not this venv's.
PYTHON3 = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")


@pytest.fixture
def sink():
    server = _Sink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_agent(relay: str, **event: str) -> subprocess.CompletedProcess:
    if PYTHON3 is None:
        pytest.skip("python3 is not installed")
    # pacemaker passes the alert's instance attributes (relay, sender) and the event; no PATH tricks: the
    # agent must not need the node's sendmail, so none is reachable here.
    env = {"PATH": "/nonexistent", "relay": relay, "sender": "bluemind-ha@mail.example.com",
           "CRM_alert_recipient": "oncall@example.com", "CRM_alert_version": "2.1.5",
           "CRM_alert_timestamp": "2026-01-01 00:00:00.000000", **event}
    return subprocess.run([PYTHON3, str(ALERT_AGENT_SOURCE)], env=env, capture_output=True, text=True, timeout=60)


def relay_of(sink: _Sink) -> str:
    return f"127.0.0.1:{sink.server_address[1]}"


FENCE = dict(CRM_alert_kind="fencing", CRM_alert_node="bm1", CRM_alert_task="reboot", CRM_alert_rc="0",
             CRM_alert_desc="Operation reboot of bm1 by bm2 for pacemaker-controld.1234@bm2: OK")
FENCE_DEVICE_MONITOR_FAILED = dict(CRM_alert_kind="resource", CRM_alert_node="bm2", CRM_alert_rsc="fence-bm1",
                                   CRM_alert_task="monitor", CRM_alert_interval="60000", CRM_alert_rc="1",
                                   CRM_alert_target_rc="0", CRM_alert_status="0", CRM_alert_desc="error")
GROUP_STARTED = dict(CRM_alert_kind="resource", CRM_alert_node="bm2", CRM_alert_rsc="vip", CRM_alert_task="start",
                     CRM_alert_interval="0", CRM_alert_rc="0", CRM_alert_target_rc="0", CRM_alert_status="0",
                     CRM_alert_desc="ok")
NODE_LOST = dict(CRM_alert_kind="node", CRM_alert_node="bm1", CRM_alert_nodeid="1", CRM_alert_desc="lost")


@pytest.mark.parametrize("event, subject", [
    (FENCE, "fencing of bm1 succeeded"),
    (FENCE_DEVICE_MONITOR_FAILED, "fence-bm1 monitor every 60s on bm2: FAILED (rc=1, expected 0)"),
    (GROUP_STARTED, "vip start on bm2: ok"),
    (NODE_LOST, "node bm1 is lost"),
], ids=["fence", "fence-device-monitor-failed", "resource-start", "node-lost"])
def test_events_reach_the_recipient_through_the_relay(sink, event, subject):
    result = run_agent(relay_of(sink), **event)
    assert result.returncode == 0, result.stderr
    (sender, recipients, message), = sink.messages
    assert (sender, recipients) == ("bluemind-ha@mail.example.com", ["oncall@example.com"])
    assert message["Subject"].endswith(f"] {subject}"), message["Subject"]
    assert message["To"] == "oncall@example.com" and message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert f"CRM_alert_node={event['CRM_alert_node']}" in body and event["CRM_alert_desc"] in body


def test_a_failed_fence_says_so(sink):
    assert run_agent(relay_of(sink), **{**FENCE, "CRM_alert_rc": "1", "CRM_alert_desc": "timed out"}).returncode == 0
    assert sink.messages[0][2]["Subject"].endswith("] fencing of bm1 FAILED (rc=1)")


@pytest.mark.parametrize("event", [
    {**FENCE_DEVICE_MONITOR_FAILED, "CRM_alert_rc": "0"},  # a passing monitor: nothing changed
    {**GROUP_STARTED, "CRM_alert_task": "monitor", "CRM_alert_rc": "7", "CRM_alert_target_rc": "7"},  # a probe
    {**GROUP_STARTED, "CRM_alert_status": "1"},  # cancelled
    dict(CRM_alert_kind="attribute", CRM_alert_node="bm1", CRM_alert_attribute_name="pingd"),
], ids=["passing-monitor", "probe", "cancelled", "attribute"])
def test_routine_events_send_nothing(sink, event):
    assert run_agent(relay_of(sink), **event).returncode == 0
    assert sink.messages == []


def test_an_unreachable_relay_fails_the_alert(sink):
    port = sink.server_address[1]
    sink.shutdown()
    sink.server_close()
    result = run_agent(f"127.0.0.1:{port}", **FENCE)
    assert result.returncode == 1 and "through 127.0.0.1" in result.stderr


def test_no_relay_is_an_error_not_a_silent_drop():
    result = run_agent("", **FENCE)
    assert result.returncode == 1 and "no relay" in result.stderr


def test_the_cib_alert_runs_the_agent_with_the_relay():
    s = load_settings("prod")
    alert = ET.fromstring(render_cib(s)).find(".//alerts/alert")
    assert alert.get("path") == ALERT_AGENT_PATH
    params = nvpairs(alert, INSTANCE)
    assert params["relay"] == s.cluster.alert_relay
    # Fence device monitors are resource events: no filter on the resources may hide them.
    select = alert.find("select")
    assert select.find("select_resources") is not None and list(select.find("select_resources")) == []
    assert select.find("select_fencing") is not None and select.find("select_nodes") is not None


def test_the_cluster_agents_step_installs_the_agent_itself():
    s = load_settings("prod")
    script = node_scripts.cluster_agents(s, s.nodes[0])
    assert alert_agent_source() in script and "alert_smtp.sh.sample" not in script
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr



LSYNCD_START_REFUSED = dict(CRM_alert_kind="resource", CRM_alert_node="bm2", CRM_alert_rsc="svc-lsyncd",
                            CRM_alert_task="start", CRM_alert_interval="0", CRM_alert_rc="1",
                            CRM_alert_target_rc="0", CRM_alert_status="0", CRM_alert_desc="error")


def test_an_event_of_lsyncd_quotes_the_guards_verdict_and_the_sync_status(sink, tmp_path):
    """A refused start of the config sync: the mail says why and what to run (the guard's report)."""
    report = tmp_path / "guard"
    report.write_text("REFUSED: lsyncd does not start on bm2: ... run bluemind-ha-sync push\n")
    params = {nv.get("name"): nv.get("value") for nv in
              ET.fromstring(render_cib(load_settings("prod"))).iterfind(".//alerts/alert/instance_attributes/nvpair")}
    assert params["details_resource"] == "svc-lsyncd" and "/var/log/lsyncd/lsyncd.status" in params["details_files"]
    files = f"{report} {tmp_path / 'absent.status'}"
    for event, quoted in ((LSYNCD_START_REFUSED, True), (GROUP_STARTED, False)):
        result = run_agent(relay_of(sink), details_resource="svc-lsyncd", details_files=files, **event)
        assert result.returncode == 0, result.stderr
        body = sink.messages[-1][2].get_content()
        assert ("bluemind-ha-sync push" in body and "absent.status: not readable" in body) == quoted, body
