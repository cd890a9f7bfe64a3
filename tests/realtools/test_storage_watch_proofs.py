"""The storage watch (issue 15 item 3): the passive node's iSCSI storage is watched, a failure there is an
alert and moves nothing; a failure on the active node hands the group over (fenced stacks only).

1. pacemaker's scheduler (crm_simulate) on every rendered CIB: the watch's failed monitor on the passive
   node leaves the group alone; on the active node a fenced stack moves the group, a manual one does not;
   the group starts after the watch. Each proof bites: without the colocation the group never leaves a
   node whose storage is broken; without the order it may mount before the watch has passed.
2. The chain on the passive node, with real tools wherever this machine has them: the rendered target in a
   real tgtd, the passive node's real login (libiscsi, its IQN and the CHAP secret), then its target side
   killed (or a wrong CHAP secret): the real session is dead, or the login refused. This kernel has no
   iSCSI initiator, so what the kernel would then show in sysfs (the session FAILED after its NOP-Outs go
   unanswered, or no session at all) is laid out by the test (tests/realtools/iscsi_sysfs.py); the watch
   agent runs on it with the rendered CIB's parameters and fails with the reason; the alert agent mails
   that failure, as pacemaker passes it, through a relay; and the scheduler, given that very failure on
   the passive node, leaves the group where it runs.
"""
from __future__ import annotations

import functools
import os
import secrets
import subprocess
import threading
import xml.etree.ElementTree as ET

import pytest

from components.agents import ALERT_AGENT_SOURCE, ISCSI_WATCH_AGENT_SOURCE
from components.names import GROUP_ID, ISCSI_WATCH_CLONE_ID, ISCSI_WATCH_ID
from components.render.cib import ISCSI_WATCH_MONITOR, render_cib
from components.render.tgt import render_targets_conf
from tests.conftest import require_root, require_tool
from tests.realtools.iscsi_sysfs import KernelView
from tests.realtools.tgt_initiator import HeldSession, Initiator, LoginRefused, Session
from tests.realtools.tgt_target import Tgtd, swap_backing_stores
from tests.smtp_sink import Sink
from tests.stacks import CIB_CONFIGS, settings_of
from tools import crmsim, failover, failover_watch
from tools.failover_model import model

OCF_ERR_GENERIC = 1
MONITOR_MS = int(ISCSI_WATCH_MONITOR.removesuffix("s")) * 1000


@functools.cache
def _settled(cib: str, nodes: tuple[str, ...]) -> str:
    return crmsim.settle(cib, nodes)


def _watch_outcomes(name: str, cib: str | None = None) -> dict[str, failover.Outcome]:
    s = settings_of(name)
    cib = cib or render_cib(s)
    m = model(s, cib)
    settled = _settled(cib, m.nodes)
    active = next(n for n in m.nodes if n in crmsim.run_until_idle(settled, quorum=True)[-1].after[m.members[0]])
    passive = next(n for n in m.nodes if n != active)
    found = failover_watch.outcomes(m, settled, active, passive, failover._outcome)
    return {o.key: o for o in found} | {"active": active, "passive": passive}


@pytest.mark.parametrize("name", CIB_CONFIGS)
def test_a_watch_failure_on_the_passive_node_moves_nothing_and_on_the_active_node_moves_the_group_when_fenced(name):
    require_tool("crm_simulate")
    s = settings_of(name)
    o = _watch_outcomes(name)
    active, passive = o["active"], o["passive"]
    members = model(s, render_cib(s)).members
    there = o["iscsi-watch-passive"]
    assert (there.unsafe, there.fenced, there.started, there.stopped) == ((), (), (), ())
    assert (there.group_after, there.running_after) == ((active,), members)
    assert there.does.startswith(f"Stops {ISCSI_WATCH_ID} on {passive} (banned there"), there.does
    here = o["iscsi-watch-active"]
    assert (here.unsafe, here.fenced) == ((), ())
    if s.fenced:
        assert here.started == tuple((r, passive) for r in members) and here.group_after == (passive,), here.does
    else:  # manual: the watch alerts, the admin moves the group
        assert (here.started, here.stopped, here.group_after) == ((), (), (active,)), here.does


def _without(cib: str, tag: str) -> str:
    root = ET.fromstring(cib)
    constraints = root.find("configuration/constraints")
    for element in constraints.findall(f"{tag}[@then='{GROUP_ID}']") + constraints.findall(f"{tag}[@rsc='{GROUP_ID}']"):
        if ISCSI_WATCH_CLONE_ID in (element.get("first"), element.get("with-rsc")):
            constraints.remove(element)
    return ET.tostring(root, encoding="unicode")


def test_without_the_colocation_the_group_stays_on_a_node_whose_storage_is_broken():
    require_tool("crm_simulate")
    cib = _without(render_cib(settings_of("dev")), "rsc_colocation")
    o = _watch_outcomes("dev", cib)
    assert o["iscsi-watch-active"].group_after == (o["active"],)


@pytest.mark.parametrize("name", ["dev", "dev-manual"])
def test_the_group_starts_only_after_the_watch_has_passed(name):
    """At a cold start every Filesystem start waits for a start of the watch; without the order it does not."""
    require_tool("crm_simulate")
    s = settings_of(name)
    nodes = [n.name for n in s.nodes]
    for cib, ordered in ((render_cib(s), True), (_without(render_cib(s), "rsc_order"), False)):
        graph = crmsim.simulate(cib, quorum=True, up=nodes, execute=False).graph
        watch_starts = {a.id for a in graph.ops("start", resource=ISCSI_WATCH_ID)}
        first_mount = graph.ops("start", resource=model(s, cib).members[0])[0]
        assert bool(watch_starts & graph.ancestors(first_mount.id)) == ordered


def _cleaned_up(cib: str, node: str) -> str:
    """`crm_resource --cleanup --resource iscsi-watch-clone --node NODE` (or failure-timeout): the watch's history
    and fail count on `node` forgotten."""
    root = ET.fromstring(cib)
    state = root.find(f"status/node_state[@uname='{node}']")
    resources = state.find("lrm/lrm_resources")
    for rsc in resources.findall(f"lrm_resource[@id='{ISCSI_WATCH_ID}']"):
        resources.remove(rsc)
    for attributes in state.iterfind("transient_attributes/instance_attributes"):
        for nv in attributes.findall("nvpair"):
            if ISCSI_WATCH_ID in nv.get("name"):
                attributes.remove(nv)
    return ET.tostring(root, encoding="unicode")


def _watch_returns(s, cib: str, role: str) -> tuple[list, tuple]:
    """The watch fails on the node in `role`, then passes again there: what starts and stops, where the group is."""
    m = model(s, cib)
    settled = _settled(cib, m.nodes)
    active = crmsim.run_until_idle(settled, quorum=True)[-1].after[m.members[0]][0]
    node = active if role == "active" else next(n for n in m.nodes if n != active)
    failed = crmsim.run_until_idle(settled, quorum=True, inject=[f"{ISCSI_WATCH_ID}_monitor_{MONITOR_MS}@{node}=1"])
    steps = crmsim.run_until_idle(_cleaned_up(failed[-1].cib, node), quorum=True)
    moves = [e for step in steps for e in step.executed if e[0] in ("start", "stop")]
    return moves, (node, failed[-1].after.get(m.members[0]), steps[-1].after.get(m.members[0]))


@pytest.mark.parametrize("name, role", [("dev", "passive"), ("dev", "active"), ("dev-manual", "active")])
def test_a_watch_that_passes_again_starts_alone_and_never_restarts_the_group(name, role):
    """A mandatory order would restart the whole group when the watch comes back on the group's node (the
    proof bites with it)."""
    require_tool("crm_simulate")
    s = settings_of(name)
    moves, (node, group_before, group_after) = _watch_returns(s, render_cib(s), role)
    assert moves == [("start", ISCSI_WATCH_ID, node)] and group_after == group_before
    mandatory = render_cib(s).replace('then="bluemind" kind="Optional"', 'then="bluemind"')
    assert mandatory != render_cib(s)
    if name == "dev-manual":
        restarted, _ = _watch_returns(s, mandatory, role)
        assert ("stop", model(s, mandatory).members[0], node) in restarted


# ---------------------------------------------------------------------------------------------------
# 2. The chain on the passive node
# ---------------------------------------------------------------------------------------------------
def _watch_params(cib: str) -> dict[str, str]:
    prim = ET.fromstring(cib).find(f".//clone[@id='{ISCSI_WATCH_CLONE_ID}']/primitive")
    return {nv.get("name"): nv.get("value") for nv in prim.findall("instance_attributes/nvpair")}


def _run_watch(kernel: KernelView, action: str, params: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": f"{ISCSI_WATCH_ID}:1",
           "HA_RSCTMP": str(kernel.root / "rsctmp"), "OCF_RESKEY_CRM_meta_timeout": "60000",
           **{f"OCF_RESKEY_{k}": v for k, v in params.items()}}
    return subprocess.run([str(ISCSI_WATCH_AGENT_SOURCE), action], env=env, capture_output=True, text=True,
                          timeout=70)


@pytest.mark.parametrize("how", ["target-killed", "chap-refused"])
def test_the_passive_nodes_dead_storage_fails_its_watch_mails_an_alert_and_moves_nothing(how, tmp_path):
    require_root()
    require_tool("tgtd", "tgtadm", "tgt-admin", "crm_simulate", "timeout")
    s = settings_of("dev")
    cib = render_cib(s)
    st = s.storage
    passive_node = s.nodes[1]  # the group settles on the primary (checked below through the scheduler)
    secret = secrets.token_urlsafe(12)
    files = {}
    for lun in st.luns:
        files[lun.number] = tmp_path / f"{lun.slug}.img"
        files[lun.number].write_bytes(b"\0" * 4096)
    conf = tmp_path / "targets.conf"
    conf.write_text(swap_backing_stores(render_targets_conf(s, secret, secrets.token_urlsafe(12)), s, files))
    tgtd = Tgtd(tmp_path)
    # The watch's parameters as the CIB renders them; its LUN devices laid out under the kernel view's /dev.
    params = _watch_params(cib)
    kernel = KernelView(tmp_path / "passive", st.target_iqn)
    params |= {"sysfs_root": str(kernel.sysfs), "recovery_wait": "2",
               "devices": " ".join(str(kernel.lun(d)) for d in params["devices"].split())}
    try:
        tgtd.start()
        tgtd.load(conf)
        initiator = Initiator(passive_node.iqn, st.chap_username, secret)
        with HeldSession(initiator, tgtd.portal, st.target_iqn, st.luns[0].number) as held:
            assert held.read()  # the passive node is logged in, through the real target
            session = kernel.login(st.portal)  # ... and its kernel shows the session LOGGED_IN
            assert _run_watch(kernel, "start", params).returncode == 0
            if how == "target-killed":
                tgtd.stop()
                assert not held.read()  # the real session is dead
                kernel.set_session_state(session, "FAILED")  # what the kernel shows once its NOP-Outs go unanswered
            else:
                wrong = Initiator(passive_node.iqn, st.chap_username, secret + "-stale")
                with pytest.raises(LoginRefused):  # the SAN refuses the login iscsid retries with a stale secret
                    Session(wrong, tgtd.portal, st.target_iqn, st.luns[0].number)
                kernel.logout(session)  # the kernel's session is gone, and no login brings it back
    finally:
        tgtd.stop()
    result = _run_watch(kernel, "monitor", params)
    assert result.returncode == OCF_ERR_GENERIC
    reason = "is FAILED" if how == "target-killed" else "the SAN refused the login: CHAP secret, ACL"
    assert reason in result.stderr and st.portal in result.stderr

    # pacemaker's alert for that failed monitor, as it passes it, reaches the admin through the relay.
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    try:
        env = {"PATH": "/nonexistent", "relay": f"127.0.0.1:{sink.server_address[1]}", "sender": "ha@example.com",
               "CRM_alert_recipient": "oncall@example.com", "CRM_alert_kind": "resource",
               "CRM_alert_node": passive_node.name, "CRM_alert_rsc": ISCSI_WATCH_ID, "CRM_alert_task": "monitor",
               "CRM_alert_interval": str(MONITOR_MS), "CRM_alert_rc": str(result.returncode),
               "CRM_alert_target_rc": "0", "CRM_alert_status": "0", "CRM_alert_desc": "error"}
        assert subprocess.run(["/usr/bin/python3", str(ALERT_AGENT_SOURCE)], env=env, timeout=60).returncode == 0
    finally:
        sink.shutdown()
        sink.server_close()
    (_, recipients, message), = sink.messages
    assert recipients == ["oncall@example.com"]
    assert message["Subject"].endswith(f"] {ISCSI_WATCH_ID} monitor every {ISCSI_WATCH_MONITOR} on "
                                       f"{passive_node.name}: FAILED (rc=1, expected 0)"), message["Subject"]

    # The scheduler, given that failure on the passive node, leaves the group where it runs.
    settled = _settled(cib, tuple(n.name for n in s.nodes))
    before = crmsim.run_until_idle(settled, quorum=True)[-1].after
    assert before[model(s, cib).members[0]] == (s.nodes[0].name,)
    after = crmsim.run_until_idle(settled, quorum=True, inject=[
        f"{ISCSI_WATCH_ID}_monitor_{MONITOR_MS}@{passive_node.name}={result.returncode}"])
    members = model(s, cib).members
    assert all(after[-1].after.get(r) == (s.nodes[0].name,) for r in members)
    assert not [e for step in after for e in step.executed if e[0] in ("start", "stop") and e[1] in members]
