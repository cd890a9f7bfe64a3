"""The scripts that prepare each cluster node, in order (components/scripts/<step>.sh). Pure: Settings in,
bash out.

What arrives on stdin is named in each docstring; the Pulumi components supply it (secrets as Pulumi
secrets, with command logging off).
"""
from __future__ import annotations

from pathlib import Path

from components.agents import (
    ALERT_AGENT_PATH,
    ISCSI_WATCH_AGENT_PATH,
    SERVICE_AGENT_PATH,
    alert_agent_source,
    iscsi_watch_agent_source,
)
from components.names import (
    APT_KEYRING_PATH,
    APT_PIN_PATH,
    APT_SOURCE_PATH,
    AUTHKEY_PATH,
    BLUEMIND_TARGET,
    COROSYNC_CONF,
    GROUP_ID,
    HELD_PACKAGES,
    LOGIND_DROPIN,
    POLICY_RC,
    RENDERED_MARK,
    RESOURCE_AGENTS_DEPS_DROPIN,
    SETTLE_TIMEOUT_S,
    bmc_password_file,
    fs_id,
    group_member_ids,
    legacy_fs_label,
    lun_device,
)
from components.render.cib import filesystem_xml
from components.render.shell import Text, render
from components.services import active_only_units, group_services
from components.settings import Node, Settings

CLUSTER_PACKAGES = ("corosync", "pacemaker", "pacemaker-cli-utils", "fence-agents", "resource-agents",
                    "open-iscsi", "xfsprogs", "e2fsprogs", "lsyncd", "rsync", "ipmitool", "python3",
                    "iputils-ping",  # the uplink watch (ocf:pacemaker:ping)
                    "curl")  # the service agent's HTTP probes
# Boot and shutdown order: pacemaker starts after, so stops before, the iSCSI sessions (iscsid, and
# open-iscsi.service, which logs them in at boot and out at shutdown) and the network. On a reboot BlueMind is
# stopped while its LUNs are still there.
BOOT_ORDER_UNITS = ("iscsid.service", "open-iscsi.service", "network-online.target")
# Red Hat and SUSE, for integrated fence devices (IPMI): the power key must not start a graceful shutdown, so
# that a fence's power-off is immediate.
LOGIND_CONF = "# bluemind-ha: a fence's power-off (IPMI) is immediate, never a graceful shutdown\n[Login]\nHandlePowerKey=ignore\n"


# With storage.multipath the LUNs are multipathd's maps: pacemaker also comes after it, and stops before it.
MULTIPATH_UNIT = "multipathd.service"


def resource_agents_deps_dropin(multipath: bool = False) -> str:
    """The resource-agents-deps.target drop-in: Requires= and After= the iSCSI sessions and the network (and
    multipathd with storage.multipath)."""
    units = " ".join(BOOT_ORDER_UNITS + ((MULTIPATH_UNIT,) if multipath else ()))
    return ("# bluemind-ha: pacemaker (After=resource-agents-deps.target) starts after, and on a shutdown stops\n"
            "# before, the iSCSI sessions and the network: BlueMind stops while its LUNs are still reachable.\n"
            f"[Unit]\nRequires={units}\nAfter={units}\n")


def stop_timeout_within(stop_op_s: int) -> int:
    """systemd's TimeoutStopSec inside the CIB's stop op timeout: a tenth less, at least 5 s less, never 0, so
    systemd's final SIGKILL lands before pacemaker would count the stop failed and fence the node (the same
    rule as ocf:bluemind-ha:service's own drop-in)."""
    return max(1, stop_op_s - max(5, -(-stop_op_s // 10)))


def systemd_timeout_dropins(s: Settings) -> dict[str, str]:
    """For each `systemd:` member of the group (a service with nothing to probe): a drop-in that makes the
    CIB's op timeouts the unit's own. Pacemaker's systemd class sets no TimeoutStartSec, so a unit's own (a
    package's 90 s) would silently cut a longer CIB start short."""
    return {f"/etc/systemd/system/{svc.unit}.service.d/50-bluemind-ha-timeouts.conf":
            "# bluemind-ha: the CIB's op timeouts for this systemd: resource\n"
            f"[Service]\nTimeoutStartSec={svc.start_timeout_s}\nTimeoutStopSec={stop_timeout_within(svc.stop_timeout_s)}\n"
            for svc in group_services(s.bluemind.major) if svc.probe is None}


# The merge runs on the node as a plain script, with the nvset module it imports beside it.
CIB_MERGE_SOURCE = (Path(__file__).parent / "cib_merge.py").read_text()
CIB_NVSETS_SOURCE = (Path(__file__).parent / "cib_nvsets.py").read_text()


PREFLIGHT_TIMEOUT_S = 5


def preflight(s: Settings, node: Node) -> str:
    """Checked before anything changes on `node`: Debian 12, a synchronized clock, the peer reachable on its
    address (lsyncd's SSH), the iSCSI portal reachable (from the storage address, with a storage network). Lists every problem, then fails. (Not the second
    link's address: only corosync's UDP is open there once the host firewall is on, and a re-run of this
    step on a live cluster must pass.)"""
    return render("preflight.sh", f"{node.name}: pre-flight", {
        "node": node.name, "os_release": "/etc/os-release", "portal_ip": s.storage.portal_ip,
        "portal_port": s.storage.portal_port, "ssh_port": 22, "timeout_s": PREFLIGHT_TIMEOUT_S,
        "peer_addresses": [s.peer_of(node).ip], "storage_ip": node.storage_ip or ""})


def cluster_packages(s: Settings, node: Node) -> str:
    """Check the host's name (renamed only when the stack says nodes[].rename_host), then install what is
    missing of the cluster stack, never upgrade it (--no-upgrade, held); corosync and pacemaker never start at
    boot (components/scripts/)."""
    index = s.nodes.index(node)
    return render("cluster-packages.sh", f"{node.name}: cluster packages",
                  {"node": node.name, "node_key": f"nodes[{index}]", "stack": s.stack,
                   "rename_host": "true" if node.rename_host else "false", "rendered_mark": RENDERED_MARK,
                   "packages": CLUSTER_PACKAGES, "held": HELD_PACKAGES})


def bluemind_apt_source(s: Settings, node: Node) -> str:
    """stdin: the apt source line of the subscription (update.apt_source_line, a Pulumi secret). The repository's
    signing key, when the stack gives one, is public: it is in the script, for the plan to show."""
    key = s.bluemind.apt_signing_key
    return render("bluemind-apt-source.sh", f"{node.name}: BlueMind's apt source",
                  {"node": node.name, "apt_source_path": APT_SOURCE_PATH, "keyring_path": APT_KEYRING_PATH,
                   "signing_key": Text(key, "PGP_KEY_END") if key else ""})


def bluemind_packages(s: Settings, node: Node) -> str:
    """stdin: the apt pin of the BlueMind version to install first (update.first_install_pin). Installs
    BlueMind once, every service it brings disabled at boot; later versions arrive through the update chain
    (components/update_chain.py)."""
    units = [u + ".service" for u in active_only_units(s.bluemind.major)]
    return render("bluemind-packages.sh", f"{node.name}: BlueMind packages, disabled at boot",
                  {"node": node.name, "apt_pin_path": APT_PIN_PATH, "policy_rc": POLICY_RC, "cluster_units": units})


def cluster_agents(s: Settings, node: Node) -> str:
    """stdin: ocf:bluemind-ha:service, the resource agent that checks what BlueMind's bm-checks check; plus
    ocf:bluemind-ha:iscsi_watch (the storage watch clone's agent), and the mail alert agent when the stack
    sends alerts. Also what pacemaker needs of systemd: the boot and
    shutdown order (resource-agents-deps.target), the power key ignored (logind), bluemind.target masked, and
    the CIB's timeouts on the `systemd:` members."""
    alert = bool(s.cluster.alert_recipient)
    return render("cluster-agents.sh", f"{node.name}: bluemind-ha's pacemaker agents, boot order, power key",
                  {"service_agent": SERVICE_AGENT_PATH, "iscsi_watch_agent": ISCSI_WATCH_AGENT_PATH,
                   "iscsi_watch_agent_text": Text(iscsi_watch_agent_source(), "ISCSI_WATCH_AGENT"),
                   "alert_agent": ALERT_AGENT_PATH if alert else "",
                   "alert_agent_text": Text(alert_agent_source() if alert else "\n", "ALERT_AGENT"),
                   "deps_dropin": RESOURCE_AGENTS_DEPS_DROPIN, "deps_conf": resource_agents_deps_dropin(s.storage.multipath),
                   "logind_dropin": LOGIND_DROPIN, "logind_conf": LOGIND_CONF, "bluemind_target": BLUEMIND_TARGET,
                   "timeout_dropins": systemd_timeout_dropins(s)})


def _legacy_labels(s: Settings) -> list[str]:
    """Each LUN's label from an earlier version, adopted by relabelling; none where it is another LUN's label
    now (that filesystem would be another directory's data)."""
    current = {lun.fs_label for lun in s.storage.luns}
    return [legacy_fs_label(lun) if legacy_fs_label(lun) not in current else "" for lun in s.storage.luns]


def filesystems(s: Settings, node: Node) -> str:
    """Mount points on both nodes; each LUN's filesystem created once and labelled, never over a device that
    holds one, by one node: the primary before the cluster exists, the node running the group after (a LUN
    new to a live cluster: only in a maintenance window, seeded from that node with its writers stopped)."""
    luns = s.storage.luns
    members = group_member_ids(s)
    return render("filesystems.sh", f"{node.name}: shared filesystems (created and labelled once)", {
        "directories": [lun.directory for lun in luns], "devices": [lun_device(s, lun) for lun in luns],
        "labels": [lun.fs_label for lun in luns], "legacy_labels": _legacy_labels(s),
        "fs_ids": [fs_id(lun) for lun in luns], "fs_xml": [filesystem_xml(s, lun) for lun in luns],
        "before_ids": [members[members.index(fs_id(lun)) + 1] for lun in luns],
        "fstype": s.storage.fstype, "node": node.name, "primary": "true" if node == s.nodes[0] else "false",
        "mount_by_label": _mount_by_label(s),
        "group": GROUP_ID, "maintenance_window": "true" if s.storage.maintenance_window else "false",
        "settle_timeout_s": SETTLE_TIMEOUT_S})


def filesystem_labels(s: Settings, node: Node) -> str:
    """On both nodes, after both filesystems steps: each LUN's label leads to that LUN and nothing else, and
    udev knows it (the Filesystem resources mount /dev/disk/by-label/<label>)."""
    luns = s.storage.luns
    return render("filesystem-labels.sh", f"{node.name}: each LUN found by its label", {
        "devices": [lun_device(s, lun) for lun in luns], "labels": [lun.fs_label for lun in luns],
        "directories": [lun.directory for lun in luns],
        "mount_by_label": _mount_by_label(s)})


def _mount_by_label(s: Settings) -> str:
    """Whether the Filesystem resources mount by label (names.mounted_device): then /dev/disk/by-label must
    lead to each LUN; with storage.multipath they mount the LUN's map."""
    return "false" if s.storage.multipath else "true"


def corosync_authkey(s: Settings, node: Node) -> str:
    """stdin: the corosync authkey, base64 (a Pulumi secret). A new key is refused while corosync runs."""
    return render("corosync-authkey.sh", f"{node.name}: corosync authkey", {"node": node.name, "authkey": AUTHKEY_PATH})


def corosync_conf(s: Settings, node: Node) -> str:
    """stdin: corosync.conf. Tested with `corosync -t` before it replaces the live file, then reloaded."""
    return render("corosync-conf.sh", f"{node.name}: corosync.conf", {"corosync_conf": COROSYNC_CONF})


def hacluster_lock(s: Settings, node: Node) -> str:
    """Lock the hacluster account's password: nothing uses it (no pcsd, no hawk)."""
    return render("hacluster-lock.sh", f"{node.name}: lock the hacluster account", {"node": node.name})


def bmc_password(s: Settings, node: Node) -> str:
    """stdin: the password of the PEER's BMC (a Pulumi secret), root-only, for fence_ipmilan's password_script."""
    peer = s.peer_of(node)
    return render("bmc-password.sh", f"{node.name}: password of {peer.name}'s BMC",
                  {"password_file": bmc_password_file(peer)})


def cluster_start(s: Settings, node: Node) -> str:
    """Start corosync and pacemaker by hand and wait until both nodes are members, bounded."""
    return render("cluster-start.sh", f"{node.name}: start corosync and pacemaker", {"node": node.name})


def cib_push(s: Settings, node: Node) -> str:
    """stdin: the rendered CIB. Splice it into the live CIB (keeping admin state), verify the result, and
    patch only the difference, like pcs does."""
    return render("cib-push.sh", f"{node.name}: push the CIB", {
        "cib_merge_py": Text(CIB_MERGE_SOURCE, "PY"), "cib_nvsets_py": Text(CIB_NVSETS_SOURCE, "PY"),
        "group": GROUP_ID, "settle_timeout_s": SETTLE_TIMEOUT_S})
