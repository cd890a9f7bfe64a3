"""The pacemaker CIB that bluemind-ha owns: properties, defaults, fence devices, the BlueMind group, constraints.

`render_cib` returns a complete `<cib>` document (with empty `<nodes>` and `<status>`) that `crm_verify
--xml-file` and `crm_simulate` read as they are. On a live cluster only its configuration sections are
spliced into the running CIB (see cib_merge.py), so admin state survives a push.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from components.agents import ALERT_AGENT_PATH, ISCSI_WATCH_AGENT_TYPE, SERVICE_AGENT_PROVIDER, SERVICE_AGENT_TYPE
from components.names import (
    GROUP_ID,
    ISCSI_WATCH_CLONE_ID,
    ISCSI_WATCH_ID,
    SYNC_REPORTS,
    VIP_ID,
    bmc_password_file,
    fence_id,
    fs_id,
    group_filesystems,
    group_member_ids,
    lun_device,
    mounted_device,
)
from components.render.cib_nvsets import INSTANCE, META, PROPERTIES, append_nvset, set_id_of
from components.services import LSYNCD, Service, group_services
from components.settings import Lun, Node, Settings

# The oldest pacemaker we support is Debian 12's 2.1.5: its newest schema is pacemaker-3.9. No
# crm_feature_set is rendered: a newer one than the cluster's own is refused.
SCHEMA = "pacemaker-3.9"
PROPERTY_SET_ID = "cib-bootstrap-options"
GROUP_PRIORITY = 10
# The uplink watch: ocf:pacemaker:ping on both nodes sets this node attribute to PING_MULTIPLIER x the number
# of ping targets the node reaches.
PING_ID = "ping"
PING_CLONE_ID = "ping-clone"
PING_ATTRIBUTE = "pingd"
PING_MULTIPLIER = 1000
PING_MONITOR = "10s"
# attrd writes a change only once it has held this long: a lost round of pings, or the ping resource's own
# restart (its stop deletes the attribute, its start sets it again), never moves the group.
PING_DAMPEN = "20s"
INFINITY = 1_000_000


class _Ids:
    """Deterministic, unique XML ids derived from the owner's id."""

    def __init__(self):
        self.used: set[str] = set()

    def __call__(self, *parts: str) -> str:
        value = "-".join(parts)
        if value in self.used:
            raise ValueError(f"duplicate CIB id {value}")
        self.used.add(value)
        return value


def _op(ops: ET.Element, rsc: str, name: str, interval: str, timeout: str, ids: _Ids, **extra: str) -> ET.Element:
    op = ET.SubElement(ops, "op", id=ids(rsc, name, "interval", interval), name=name, interval=interval, timeout=timeout)
    for key, value in extra.items():
        op.set(key.replace("_", "-"), value)
    return op


def _primitive(parent: ET.Element, rsc: str, cls: str, rtype: str, provider: str | None,
               params: list[tuple[str, str]], ids: _Ids) -> tuple[ET.Element, ET.Element]:
    attrs = {"id": ids(rsc), "class": cls}
    if provider:
        attrs["provider"] = provider
    attrs["type"] = rtype
    prim = ET.SubElement(parent, "primitive", attrs)
    if params:
        append_nvset(prim, INSTANCE, set_id_of(rsc, INSTANCE), params, ids)
    return prim, ET.SubElement(prim, "operations")


def _properties(s: Settings) -> list[tuple[str, str]]:
    """The cluster properties: the failover policy (Settings.policy) printed, with fencing's own timings."""
    policy = s.policy
    props = [("stonith-enabled", _bool(policy.stonith_enabled))]
    if policy.stonith_enabled:
        props += [
            ("stonith-action", "reboot"),
            ("stonith-timeout", f"{s.cluster.stonith_timeout_s}s"),
            # When the nodes lose each other, both try to fence; the node running the group (higher priority)
            # shoots after the other has waited this long, so the active node survives the race. With an
            # arbitrator only one side is quorate and fences: 0 (said out loud, as properties merge by name).
            ("priority-fencing-delay", f"{policy.priority_fencing_delay_s}s"),
        ]
    # Fenced: a lone survivor is quorate through two_node, or through the arbitrator's vote (qdevice: a node that
    # has neither freezes). Manual: a lone node is inquorate and freezes; the admin takes over by hand (README,
    # runbook). start-failure-is-fatal is said out loud in both modes: a push
    # merges properties by name, so a stack that was in manual mode must get pacemaker's default back.
    return props + [("no-quorum-policy", policy.no_quorum_policy), ("symmetric-cluster", "true"),
                    ("start-failure-is-fatal", _bool(policy.start_failure_is_fatal))]


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _migration_threshold(s: Settings) -> str:
    """Failures before the group leaves its node; 0 (failover: manual) disables the threshold, so a failing
    service is restarted in place, forever, and only the admin moves the group."""
    return str(s.policy.migration_threshold)


def fence_parameters(s: Settings, node: Node) -> list[tuple[str, str]]:
    """The fence_ipmilan parameters of the device that powers `node` off: the CIB and the pre-flight share them."""
    bmc = node.bmc
    assert bmc is not None
    return [
        ("ip", bmc.address),
        ("ipport", str(bmc.port)),
        ("username", bmc.username),
        # The password never enters the CIB (replicated to every node, shown by `cibadmin -Q`): the agent
        # reads it from a root-only file that `pulumi up` writes from a Pulumi secret.
        ("password_script", f"cat {bmc_password_file(node)}"),
        ("lanplus", "1"),
        # Least privilege: power status, off and on need only an IPMI operator, so the stored credential need
        # not be a BMC administrator (README, prerequisites: how to create that user).
        ("privlvl", "operator"),
        # Pinned cipher suite: see README "IPMI cipher suite". Without it ipmitool first asks the BMC for its
        # cipher suites, which some BMCs (and ipmi_sim) do not answer, stalling every fence call.
        ("cipher", str(s.cluster.ipmi_cipher)),
        # onoff: power off, confirm off, power on. `cycle` may report success before the node is really off.
        ("method", "onoff"),
        ("power_timeout", "20"),
        ("pcmk_host_list", node.name),
    ]


def _static_delay(s: Settings, node: Node) -> list[tuple[str, str]]:
    """While the group runs nowhere (first install, storage grow, a failed start) priority-fencing-delay
    protects nobody and a split makes both nodes shoot at once. The device that fences the primary waits a
    little, so the primary always wins that race; shorter than the priority delay, so the node running the
    group still wins when it is the secondary. Kept with an arbitrator (cluster.qdevice), where only the quorate
    side fences: it is what still breaks a race if both sides ever count themselves quorate (an admin who
    restores quorum by hand during an arbitrator outage, `corosync-quorumtool -e`), and it costs a failover
    only when the primary is the node fenced."""
    delay = s.policy.fence_delay_base_s
    return [("pcmk_delay_base", f"{delay}s")] if node == s.nodes[0] and delay else []


def _fence_device(resources: ET.Element, s: Settings, node: Node, ids: _Ids) -> None:
    rsc = fence_id(node)
    prim, ops = _primitive(resources, rsc, "stonith", "fence_ipmilan", None,
                           fence_parameters(s, node) + _static_delay(s, node), ids)
    # The group's migration-threshold (rsc_defaults) must never apply here: the device is already banned from
    # the node it fences, so a few failed monitors (a flaky BMC) on the peer would ban it everywhere, and the
    # fencer ignores a device whose score on its own node is negative: the node could no longer be fenced.
    # 0 disables the threshold: a failing monitor restarts the device in place and raises an alert, forever.
    append_nvset(prim, META, set_id_of(rsc, META), [("migration-threshold", "0")], ids)
    _op(ops, rsc, "monitor", "60s", "20s", ids)


def _filesystem(group: ET.Element, s: Settings, lun: Lun, ids: _Ids) -> None:
    rsc = fs_id(lun)
    params = [("device", mounted_device(s, lun)), ("directory", lun.directory), ("fstype", s.storage.fstype),
              ("options", "noatime"), ("run_fsck", "auto"),
              # safe: kill only processes holding this mount, without walking /proc of a hung NFS: good for us.
              ("force_unmount", "safe")]
    _, ops = _primitive(group, rsc, "ocf", "Filesystem", "heartbeat", params, ids)
    _op(ops, rsc, "start", "0s", "120s", ids)
    _op(ops, rsc, "stop", "0s", "120s", ids)
    monitor = _op(ops, rsc, "monitor", "20s", "40s", ids)
    # Level 10 reads from the device, so a LUN that vanished under a still-mounted filesystem is noticed.
    append_nvset(monitor, INSTANCE, set_id_of(f"{rsc}-monitor-20s", INSTANCE), [("OCF_CHECK_LEVEL", "10")], ids)


def filesystem_xml(s: Settings, lun: Lun) -> str:
    """The LUN's Filesystem primitive alone, exactly as render_cib writes it: what the filesystems step inserts
    into a live group when the LUN is new (components/scripts/lun-add.sh)."""
    holder = ET.Element("group")
    _filesystem(holder, s, lun, _Ids())
    return ET.tostring(holder[0], encoding="unicode")


def _vip(group: ET.Element, s: Settings, ids: _Ids) -> None:
    params = [("ip", s.network.vip), ("cidr_netmask", str(s.network.prefix)), ("nic", s.network.nic)]
    _, ops = _primitive(group, VIP_ID, "ocf", "IPaddr2", "heartbeat", params, ids)
    _op(ops, VIP_ID, "start", "0s", "20s", ids)
    _op(ops, VIP_ID, "stop", "0s", "20s", ids)
    _op(ops, VIP_ID, "monitor", "10s", "20s", ids)


def _service(group: ET.Element, svc: Service, ids: _Ids) -> ET.Element:
    """A service with a probe runs as ocf:bluemind-ha:service: its start returns once the service answers
    what bm-checks test (so the next member starts only then), and its monitor fails when it stops
    answering, which restarts the service in place and, after migration-threshold failures, moves the group.
    A service with nothing to probe is a plain systemd resource: the unit being active is all there is."""
    if svc.probe is None:
        prim, ops = _primitive(group, svc.rsc_id, "systemd", svc.unit, None, [], ids)
    else:
        # stop_timeout: the agent sets the unit's TimeoutStopSec inside the stop op's timeout, so systemd's
        # final SIGKILL lands before pacemaker would count the stop failed (and fence the node).
        params = [("unit", svc.unit), ("port", str(svc.probe.port)), ("probe", svc.probe.kind),
                  ("stop_timeout", str(svc.stop_timeout_s))]
        if svc.probe.kind == "http":
            params += [("method", svc.probe.method), ("path", svc.probe.path)]
        prim, ops = _primitive(group, svc.rsc_id, "ocf", SERVICE_AGENT_TYPE, SERVICE_AGENT_PROVIDER, params, ids)
    _op(ops, svc.rsc_id, "start", "0s", f"{svc.start_timeout_s}s", ids)
    _op(ops, svc.rsc_id, "stop", "0s", f"{svc.stop_timeout_s}s", ids)
    _op(ops, svc.rsc_id, "monitor", "30s", "60s", ids)
    return prim


def _uplink_watch(resources: ET.Element, constraints: ET.Element, s: Settings, ids: _Ids) -> None:
    """IPaddr2's monitor only checks that the address exists: a dead uplink on the active node would go
    unnoticed. A ping clone watches the targets from both nodes, and a node that reaches at least one of them
    gets a preference just above what the group's stickiness is worth: the group moves away from a node that
    reaches none to a node that reaches one, and stays where it is when both reach none (a gateway reboot
    must not stop BlueMind: a -INFINITY ban on both nodes would) or before the first ping result (cold
    start). Fenced stacks only: moving the group is an automatic changeover."""
    clone = ET.SubElement(resources, "clone", id=ids(PING_CLONE_ID))
    params = [("host_list", " ".join(s.ping_targets)), ("multiplier", str(PING_MULTIPLIER)),
              ("dampen", PING_DAMPEN), ("name", PING_ATTRIBUTE)]
    _, ops = _primitive(clone, PING_ID, "ocf", "ping", "pacemaker", params, ids)
    _op(ops, PING_ID, "start", "0s", "60s", ids)
    _op(ops, PING_ID, "stop", "0s", "20s", ids)
    _op(ops, PING_ID, "monitor", PING_MONITOR, "60s", ids)
    location = ET.SubElement(constraints, "rsc_location", id=ids(GROUP_ID, "prefers-uplink"), rsc=GROUP_ID)
    rule = ET.SubElement(location, "rule", id=ids(GROUP_ID, "prefers-uplink", "rule"), score=str(uplink_preference(s)))
    ET.SubElement(rule, "expression", id=ids(GROUP_ID, "prefers-uplink", "reached"), attribute=PING_ATTRIBUTE,
                  operation="gt", value="0", type="integer")


ISCSI_WATCH_MONITOR = "15s"


def _storage_watch(resources: ET.Element, constraints: ET.Element, s: Settings, ids: _Ids) -> None:
    """The iSCSI sessions are logged in at boot, outside pacemaker: a clone of ocf:bluemind-ha:iscsi_watch
    checks each node's sessions and LUNs (read-only), so a dead session or a refused login on the passive
    node is an alert now, not a failed mount at the next failover. The group starts after it. One failure
    bans the watch from its node until failure-timeout (then it is tried again, and alerts again while the
    storage is still broken): never a restart loop that mails every monitor. Fenced stacks also keep the
    group with it: a node whose storage is broken cannot take the group, and the node running it hands it
    over. A failure on the passive node moves nothing (the failover matrix shows both). Manual stacks only
    alert: moving the group is the admin's."""
    clone = ET.SubElement(resources, "clone", id=ids(ISCSI_WATCH_CLONE_ID))
    st = s.storage
    params = [("target", st.target_iqn), ("portals", " ".join(st.portals)),
              ("devices", " ".join(lun_device(s, lun) for lun in st.luns)),
              ("recovery_wait", str(st.replacement_timeout_s))]
    if st.multipath:  # dm carries on over the other path: a dead path is logged, a LUN without any fails
        params.append(("paths", "one"))
    prim, ops = _primitive(clone, ISCSI_WATCH_ID, "ocf", ISCSI_WATCH_AGENT_TYPE, SERVICE_AGENT_PROVIDER, params, ids)
    append_nvset(prim, META, set_id_of(ISCSI_WATCH_ID, META), [("migration-threshold", "1")], ids)
    # Each timeout leaves the agent recovery_wait plus its margins (components/agents/iscsi_watch).
    _op(ops, ISCSI_WATCH_ID, "start", "0s", "60s", ids)
    _op(ops, ISCSI_WATCH_ID, "stop", "0s", "20s", ids)
    _op(ops, ISCSI_WATCH_ID, "monitor", ISCSI_WATCH_MONITOR, "60s", ids)
    # Optional: a start of the group waits for a start of the watch in the same transition (a cold start, a
    # failover), but the watch coming back on the group's node (cleanup, failure-timeout) never restarts
    # BlueMind, as a mandatory order would (crm_simulate shows it: tests/realtools/test_storage_watch_proofs.py).
    ET.SubElement(constraints, "rsc_order", id=ids(GROUP_ID, "after", ISCSI_WATCH_CLONE_ID),
                  first=ISCSI_WATCH_CLONE_ID, then=GROUP_ID, kind="Optional")
    if s.policy.stonith_enabled:
        ET.SubElement(constraints, "rsc_colocation", {"id": ids(GROUP_ID, "with", ISCSI_WATCH_CLONE_ID),
                                                      "rsc": GROUP_ID, "with-rsc": ISCSI_WATCH_CLONE_ID,
                                                      "score": "INFINITY"})


def uplink_preference(s: Settings) -> int:
    """More than the whole group's stickiness (it adds up over the group's active members), so the preference
    moves the group; finite, so it cancels out when both nodes have it (pacemaker's scores saturate at
    INFINITY, so an absurd stickiness is capped here)."""
    return min(s.cluster.stickiness * len(group_member_ids(s)) + 1, INFINITY - 1)


ALERT_TIMEOUT = "60s"  # the agent's three attempts to reach the relay (components/agents/alert_smtp)


def _alerts(config: ET.Element, s: Settings, ids: _Ids) -> None:
    """Mail node, fencing and resource events to the recipients through the SMTP relay (the agent
    components/agents/alert_smtp, never the node's sendmail: the clustered postfix is down during a
    failover). Resource events include every failed monitor, the fence devices' too (a flaky BMC). Attribute
    changes are left out: every fail-count, probe and ping update would mail."""
    alert = ET.SubElement(ET.SubElement(config, "alerts"), "alert", id=ids("alert-mail"), path=ALERT_AGENT_PATH)
    append_nvset(alert, META, set_id_of("alert-mail", META), [("timeout", ALERT_TIMEOUT)], ids)
    # An event of lsyncd's resource (a refused start, a sync that kept failing) quotes the guard's verdict and
    # lsyncd's status: the mail then says what happened and what to run.
    append_nvset(alert, INSTANCE, set_id_of("alert-mail", INSTANCE),
                 [("relay", s.cluster.alert_relay), ("sender", f"bluemind-ha@{s.bluemind.url}"),
                  ("details_resource", LSYNCD.rsc_id), ("details_files", " ".join(SYNC_REPORTS))], ids)
    select = ET.SubElement(alert, "select")
    for kind in ("select_nodes", "select_fencing", "select_resources"):
        ET.SubElement(select, kind)
    for i, recipient in enumerate(s.cluster.alert_recipients):
        rid = ids("alert-mail-recipient") if i == 0 else ids("alert-mail-recipient", str(i + 1))
        ET.SubElement(alert, "recipient", id=rid, value=recipient)


def render_cib(s: Settings) -> str:
    ids = _Ids()
    cib = ET.Element("cib", {"validate-with": SCHEMA, "admin_epoch": "0", "epoch": "1", "num_updates": "0"})
    config = ET.SubElement(cib, "configuration")
    crm_config = ET.SubElement(config, "crm_config")
    append_nvset(crm_config, PROPERTIES, PROPERTY_SET_ID, _properties(s), ids)
    ET.SubElement(config, "nodes")

    resources = ET.SubElement(config, "resources")
    if s.policy.stonith_enabled:
        for node in s.nodes:
            _fence_device(resources, s, node, ids)
    group = ET.SubElement(resources, "group", id=ids(GROUP_ID))
    # The group's priority makes its node win a fence race (priority-fencing-delay).
    append_nvset(group, META, set_id_of(GROUP_ID, META), [("priority", str(GROUP_PRIORITY))], ids)
    before, after = group_filesystems(s)
    for lun in before:
        _filesystem(group, s, lun, ids)
    _vip(group, s, ids)
    for lun in after:
        _filesystem(group, s, lun, ids)
    for svc in group_services(s.bluemind.major):
        prim = _service(group, svc, ids)
        if svc == LSYNCD:
            # The sync daemon must never cost a failover of the mail service: a non-critical member that keeps
            # failing stays stopped on its node (until failure-timeout) instead of pulling the whole group away.
            append_nvset(prim, META, set_id_of(LSYNCD.rsc_id, META), [("critical", "false")], ids)
            # A failed start is the start-up guard refusing a stale push (or lsyncd failing outright): retrying
            # at once cannot cure it, and without start-failure-is-fatal (manual mode) pacemaker would retry
            # it, and mail it, in a loop. It stays stopped until failure-timeout or the admin's cleanup.
            prim.find("operations/op[@name='start']").set("on-fail", "stop")

    constraints = ET.SubElement(config, "constraints")
    if s.policy.stonith_enabled:
        for node in s.nodes:
            # A node never runs the device that shoots it: a hung node cannot then block its own fencing.
            ET.SubElement(constraints, "rsc_location", id=ids(fence_id(node), "avoids", node.name),
                          rsc=fence_id(node), node=node.name, score="-INFINITY")
        _uplink_watch(resources, constraints, s, ids)
    _storage_watch(resources, constraints, s, ids)

    rsc_defaults = ET.SubElement(config, "rsc_defaults")
    append_nvset(rsc_defaults, META, "bluemind-ha-rsc-defaults", [
        # Stickiness: a recovered node never pulls the group back (no failback, no second outage).
        ("resource-stickiness", str(s.cluster.stickiness)),
        ("migration-threshold", _migration_threshold(s)),
        ("failure-timeout", f"{s.cluster.failure_timeout_s}s"),
    ], ids)
    op_defaults = ET.SubElement(config, "op_defaults")
    append_nvset(op_defaults, META, "bluemind-ha-op-defaults", [("timeout", "60s")], ids)
    if s.cluster.alert_recipients:
        _alerts(config, s, ids)
    ET.SubElement(cib, "status")
    ET.indent(cib, space="  ")
    return ET.tostring(cib, encoding="unicode") + "\n"
