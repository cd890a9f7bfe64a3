"""ocf:bluemind-ha:iscsi_watch run the way pacemaker runs it (OCF_RESKEY_* environment, resource-agents' own
ocf-shellfuncs, the op timeout in OCF_RESKEY_CRM_meta_timeout), against a node's sessions and LUNs as the
kernel shows them in sysfs (tests/realtools/iscsi_sysfs.py: this kernel has no iSCSI initiator of its own).

Proves: a healthy node starts and monitors; a probe before start is "not running"; a dead session, a refused
login (no session at all), a missing or offline LUN fail the check with the reason; a path back within
recovery_wait is no failure; recovery_wait never outlasts the op timeout; a sysfs read that hangs never
blocks the check; stop never touches the sessions; a broken configuration is reported.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from components.agents import ISCSI_WATCH_AGENT_SOURCE
from tests.conftest import require_root, require_tool
from tests.realtools.iscsi_sysfs import KernelView

OCF_SUCCESS, OCF_ERR_GENERIC, OCF_ERR_CONFIGURED, OCF_NOT_RUNNING = 0, 1, 6, 7
OCF_SHELLFUNCS = Path("/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs")
TARGET = "iqn.2026-01.lan.example:bluemind"
PORTAL = "192.168.150.20:3260"
OTHER_PORTAL = "192.168.151.20:3260"
LUNS = 2


@pytest.fixture
def node(tmp_path) -> tuple[KernelView, list[Path]]:
    """A node logged in through PORTAL, with its LUNs present and running."""
    require_root()  # mknod of the LUNs' device nodes
    require_tool("timeout")
    if not OCF_SHELLFUNCS.exists():
        require_tool("ocf-tester")  # resource-agents: skips locally, fails under CI
    kernel = KernelView(tmp_path / "node", TARGET)
    kernel.login(PORTAL)
    links = [kernel.lun(f"/dev/disk/by-path/ip-{PORTAL}-iscsi-{TARGET}-lun-{n}") for n in range(1, LUNS + 1)]
    return kernel, links


def agent(kernel: KernelView, action: str, links: list[Path], timeout_ms: int = 60_000,
          **params: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": "iscsi-watch:0",
           "HA_RSCTMP": str(kernel.root / "rsctmp"), "OCF_RESKEY_CRM_meta_timeout": str(timeout_ms),
           "OCF_RESKEY_target": TARGET, "OCF_RESKEY_portals": PORTAL,
           "OCF_RESKEY_devices": " ".join(str(link) for link in links),
           "OCF_RESKEY_sysfs_root": str(kernel.sysfs), "OCF_RESKEY_recovery_wait": "2"}
    env.update({f"OCF_RESKEY_{k}": v for k, v in params.items()})
    return subprocess.run([str(ISCSI_WATCH_AGENT_SOURCE), action], env=env, capture_output=True, text=True,
                          timeout=timeout_ms / 1000 + 10)


def test_a_healthy_node_starts_and_monitors(node):
    kernel, links = node
    assert agent(kernel, "monitor", links).returncode == OCF_NOT_RUNNING  # the probe before any start
    assert agent(kernel, "start", links).returncode == OCF_SUCCESS
    assert agent(kernel, "monitor", links).returncode == OCF_SUCCESS
    assert agent(kernel, "stop", links).returncode == OCF_SUCCESS
    assert agent(kernel, "monitor", links).returncode == OCF_NOT_RUNNING
    # stop forgot the state only: the session is open-iscsi's, and still there
    assert (kernel.sysfs / "class/iscsi_session/session1/state").read_text() == "LOGGED_IN\n"


@pytest.mark.parametrize("break_it, reason", [
    (lambda k, links: k.set_session_state(1, "FAILED"),
     f"the iSCSI session to {TARGET} through {PORTAL} is FAILED"),
    (lambda k, links: k.logout(1), f"no iSCSI session to {TARGET} through {PORTAL} (logged out, or the SAN "
                                   "refused the login: CHAP secret, ACL)"),
    (lambda k, links: k.set_disk_state(links[1], "transport-offline"), "is transport-offline"),
    (lambda k, links: links[0].unlink(), "is missing"),
], ids=["session-failed", "no-session", "lun-offline", "lun-missing"])
def test_broken_storage_fails_the_monitor_with_the_reason(node, break_it, reason):
    kernel, links = node
    assert agent(kernel, "start", links).returncode == OCF_SUCCESS
    break_it(kernel, links)
    started = time.monotonic()
    result = agent(kernel, "monitor", links)
    assert result.returncode == OCF_ERR_GENERIC, result.stderr
    assert reason in result.stderr
    assert 2 <= time.monotonic() - started < 10  # it gave the problem recovery_wait (2 s) to clear, no more


def test_a_refused_login_fails_the_start(node):
    kernel, links = node
    kernel.logout(1)
    result = agent(kernel, "start", links)
    assert result.returncode == OCF_ERR_GENERIC
    assert "storage not usable on this node: no iSCSI session" in result.stderr
    assert agent(kernel, "monitor", links).returncode == OCF_NOT_RUNNING


def test_every_portal_needs_its_session(node):
    kernel, links = node
    two = {"portals": f"{PORTAL} {OTHER_PORTAL}"}
    result = agent(kernel, "start", links, **two)
    assert result.returncode == OCF_ERR_GENERIC and f"through {OTHER_PORTAL}" in result.stderr
    kernel.login(OTHER_PORTAL)
    assert agent(kernel, "start", links, **two).returncode == OCF_SUCCESS


def test_with_multipath_one_path_is_enough_and_none_fails(node):
    """paths=one (storage.multipath): a dead path is a warning in the log; the map fails once no path runs."""
    kernel, links = node
    second = kernel.login(OTHER_PORTAL)
    others = [kernel.lun(f"/dev/disk/by-path/ip-{OTHER_PORTAL}-iscsi-{TARGET}-lun-{n}") for n in range(1, LUNS + 1)]
    maps = [kernel.multipath_map(f"bluemind-lun{n}", [a, b]) for n, (a, b) in enumerate(zip(links, others, strict=True))]
    multipath = {"portals": f"{PORTAL} {OTHER_PORTAL}", "paths": "one"}
    assert agent(kernel, "start", maps, **multipath).returncode == OCF_SUCCESS
    kernel.set_session_state(second, "FAILED")
    for link in others:
        kernel.set_disk_state(link, "transport-offline")
    one_left = agent(kernel, "monitor", maps, **multipath)
    assert one_left.returncode == OCF_SUCCESS and "a path is down" in one_left.stderr
    assert agent(kernel, "monitor", maps, **{**multipath, "paths": "all"}).returncode == OCF_ERR_GENERIC
    kernel.set_session_state(1, "FAILED")
    for link in links:
        kernel.set_disk_state(link, "transport-offline")
    none_left = agent(kernel, "monitor", maps, **multipath)
    assert none_left.returncode == OCF_ERR_GENERIC
    assert "is FAILED" in none_left.stderr and "without a running path (2 paths)" in none_left.stderr


def test_a_path_back_within_recovery_wait_is_no_failure(node):
    kernel, links = node
    assert agent(kernel, "start", links).returncode == OCF_SUCCESS
    kernel.set_session_state(1, "FAILED")
    threading.Timer(2, kernel.set_session_state, (1, "LOGGED_IN")).start()  # iscsid logs in again
    assert agent(kernel, "monitor", links, recovery_wait="8").returncode == OCF_SUCCESS


def test_recovery_wait_never_outlasts_the_op_timeout(node):
    kernel, links = node
    assert agent(kernel, "start", links).returncode == OCF_SUCCESS
    kernel.set_session_state(1, "FAILED")
    started = time.monotonic()
    result = agent(kernel, "monitor", links, timeout_ms=18_000, recovery_wait="600")
    assert result.returncode == OCF_ERR_GENERIC
    assert time.monotonic() - started < 18 - 5  # 18 s less the margin: pacemaker sees a failure, not a timeout


def test_a_hanging_read_never_blocks_the_check(node):
    """A sysfs attribute that never answers (a FIFO without a writer stands in for it): the round is killed
    at its bound and the check fails, well within the op timeout."""
    kernel, links = node
    assert agent(kernel, "start", links).returncode == OCF_SUCCESS
    state = kernel.sysfs / "class/iscsi_session/session1/state"
    state.unlink()
    os.mkfifo(state)
    started = time.monotonic()
    result = agent(kernel, "monitor", links, timeout_ms=30_000)
    assert result.returncode == OCF_ERR_GENERIC
    assert "did not finish within 5s" in result.stderr
    assert time.monotonic() - started < 30 - 5


@pytest.mark.parametrize("params", [{"target": ""}, {"portals": "san:3260"}, {"devices": ""},
                                    {"recovery_wait": "soon"}, {"paths": "both"}],
                         ids=["target", "portal", "devices", "wait", "paths"])
def test_a_broken_configuration_is_reported_and_never_blocks_a_stop(node, params):
    kernel, links = node
    result = agent(kernel, "start", links, **params)
    assert result.returncode == OCF_ERR_CONFIGURED, result.stderr
    assert agent(kernel, "stop", links, **params).returncode == OCF_SUCCESS


def test_the_metadata_is_valid_and_names_every_parameter():
    import xml.etree.ElementTree as ET

    if not OCF_SHELLFUNCS.exists():
        require_tool("ocf-tester")
    out = subprocess.run([str(ISCSI_WATCH_AGENT_SOURCE), "meta-data"], capture_output=True, text=True, timeout=10,
                         env={"PATH": os.environ["PATH"], "OCF_ROOT": "/usr/lib/ocf"}).stdout
    names = {p.get("name") for p in ET.fromstring(out).iter("parameter")}
    assert names == {"target", "portals", "devices", "paths", "sysfs_root", "recovery_wait"}


def test_the_agent_passes_shellcheck():
    require_tool("shellcheck")
    result = subprocess.run(["shellcheck", str(ISCSI_WATCH_AGENT_SOURCE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
