"""Names in one place: the CIB's resource ids, device paths, and the files bluemind-ha installs on a host.

Renderers import names from here, never from one another (tests/test_names.py). Pure: Settings in, names out.
"""
from __future__ import annotations

from components.services import group_services
from components.settings import Lun, Node, Settings
from components.sizing import shared_directories

# --- the CIB ---------------------------------------------------------------------------------------------
GROUP_ID = "bluemind"
VIP_ID = "vip"
# The clone of ocf:bluemind-ha:iscsi_watch on both nodes: the group is ordered after it (and, fenced, with it).
ISCSI_WATCH_ID = "iscsi-watch"
ISCSI_WATCH_CLONE_ID = "iscsi-watch-clone"
FENCE_PASSWORD_DIR = "/etc/bluemind-ha/bmc"


def fence_id(node: Node) -> str:
    return f"fence-{node.name}"


def fs_id(lun: Lun) -> str:
    return f"fs-{lun.slug}"


def by_path_device(s: Settings, lun: Lun) -> str:
    """The persistent name udev gives the LUN on both nodes (never /dev/sdX, whose order can change)."""
    return by_path_device_through(s, lun, s.storage.portal)


def lun_device(s: Settings, lun: Lun) -> str:
    """The device the LUN's filesystem is made on and mounted from: its by-path name, or with
    storage.multipath the dm-multipath map over both paths, named for its directory (the iscsi-login step
    binds the LUN's WWID to that name)."""
    if s.storage.multipath:
        return f"/dev/mapper/{multipath_alias(lun)}"
    return by_path_device(s, lun)


def multipath_alias(lun: Lun) -> str:
    return f"bluemind-{lun.slug}"


def by_path_device_through(s: Settings, lun: Lun, portal: str) -> str:
    """The LUN's by-path name through one of the storage's portals (address:port)."""
    return f"/dev/disk/by-path/ip-{portal}-iscsi-{s.storage.target_iqn}-lun-{lun.number}"


def mounted_device(s: Settings, lun: Lun) -> str:
    """What the Filesystem resources mount (and resize2fs grows): never a LUN number. Its label, or with
    storage.multipath the LUN's map, whose name the iscsi-login step binds to the LUN's WWID (udev's by-label
    link of a multipathed filesystem may name one of its paths)."""
    if s.storage.multipath:
        return lun_device(s, lun)
    return by_label_device(lun)


def by_label_device(lun: Lun) -> str:
    """What the Filesystem resources mount: the filesystem's label (Lun.fs_label, set at mkfs), so a LUN
    renumbered on the SAN never mounts another directory's data; the filesystems steps check that exactly one
    device carries it and that it is this LUN (filesystem-labels.sh)."""
    return f"/dev/disk/by-label/{lun.fs_label}"


def legacy_fs_label(lun: Lun) -> str:
    """The label versions before readable labels gave a LUN's filesystem: adopted (relabelled), like none."""
    return lun.slug[-12:]


def bmc_password_file(node: Node) -> str:
    """Where the peer of `node` keeps the password of `node`'s BMC, for fence_ipmilan's password_script."""
    return f"{FENCE_PASSWORD_DIR}/{node.name}.password"


def after_vip(s: Settings, lun: Lun) -> bool:
    """An extra directory's Filesystem goes after the VIP, right before the services: the directories BlueMind
    always has are mounted first, and an extra one added to a live cluster (README, "Adding a shared directory
    (LUN) to a running cluster") restarts only the services, which may write to it, never the VIP or the
    other filesystems."""
    return lun.directory not in shared_directories(s.bluemind.major)


def group_filesystems(s: Settings) -> tuple[list[Lun], list[Lun]]:
    """The LUNs whose Filesystem members go before the VIP, and those that go after it, in stack order."""
    return ([lun for lun in s.storage.luns if not after_vip(s, lun)],
            [lun for lun in s.storage.luns if after_vip(s, lun)])


def group_member_ids(s: Settings) -> list[str]:
    """The group's members in start order; other modules (sync, lab, docs) build on this order."""
    before, after = group_filesystems(s)
    return ([fs_id(lun) for lun in before] + [VIP_ID] + [fs_id(lun) for lun in after]
            + [svc.rsc_id for svc in group_services(s.bluemind.major)])


# How long a step waits for the cluster to settle: the group's slowest path, every start timeout of a cold start.
SETTLE_TIMEOUT_S = 900

# --- corosync ---------------------------------------------------------------------------------------------
AUTHKEY_PATH = "/etc/corosync/authkey"
COROSYNC_CONF = "/etc/corosync/corosync.conf"
# In the first line of every corosync.conf we render: how a node tells our cluster from Debian's example.
RENDERED_MARK = "rendered by bluemind-ha"
# The arbitrator (cluster.qdevice): corosync-qnetd's port, and the NSS databases of both sides (the qnetd CA and
# its server key on the arbitrator, each node's own client key; a private key never leaves its host).
QNETD_PORT = 5403
QNETD_NSSDB = "/etc/corosync/qnetd/nssdb"
QDEVICE_NSSDB = "/etc/corosync/qdevice/net/nssdb"
# corosync.service Wants= corosync-qdevice.service (whose own unit is After= and Requires= corosync): starting
# corosync starts the device, stopping corosync stops it, and neither starts at boot.
QDEVICE_DROPIN = "/etc/systemd/system/corosync.service.d/50-bluemind-ha-qdevice.conf"

# --- packages ----------------------------------------------------------------------------------------------
APT_PIN_PATH = "/etc/apt/preferences.d/bluemind-ha"
APT_SOURCE_PATH = "/etc/apt/sources.list.d/bluemind.list"
# BlueMind's repository key (bluemind.apt_signing_key), named by the source's signed-by. Readable by all: apt's
# methods check signatures as the _apt user.
APT_KEYRING_PATH = "/etc/apt/keyrings/bluemind.asc"
POLICY_RC = "/usr/sbin/policy-rc.d"
# The cluster stack, held (apt-mark hold): no re-run and no BlueMind update upgrades it; an upgraded corosync
# or pacemaker restarts the cluster stack from its postinst, and open-iscsi's restarts the sessions under the
# LUNs. The os_upgrade runbook (components/render/runbooks.py) upgrades them, one node at a time, in standby.
HELD_PACKAGES = ("corosync", "pacemaker", "pacemaker-cli-utils", "fence-agents", "resource-agents", "open-iscsi")

# --- systemd on the nodes (the cluster-agents step) ---------------------------------------------------------
# pacemaker.service is After= and Wants= resource-agents-deps.target: what this drop-in orders before that
# target starts before pacemaker and, on a shutdown, stops after it.
RESOURCE_AGENTS_DEPS_DROPIN = "/etc/systemd/system/resource-agents-deps.target.d/bluemind-ha.conf"
LOGIND_DROPIN = "/etc/systemd/logind.conf.d/bluemind-ha.conf"
# BlueMind's own target (every BlueMind unit is PartOf= and WantedBy= it; `bmctl start|stop|restart` acts on
# it): masked, so bmctl cannot restart what pacemaker manages.
BLUEMIND_TARGET = "bluemind.target"

# --- iSCSI -------------------------------------------------------------------------------------------------
ISCSID_CONF = "/etc/iscsi/iscsid.conf"
INITIATORNAME = "/etc/iscsi/initiatorname.iscsi"
# The iSCSI digests both ends require (the tgt target and the nodes' iscsid.conf); why no data digest: iscsid.conf.
ISCSI_HEADER_DIGEST = "CRC32C"
ISCSI_DATA_DIGEST = "None"
# Where the storage-target step installs the stack's targets.conf: Debian's /etc/tgt/targets.conf includes
# conf.d.
TARGETS_CONF = "/etc/tgt/conf.d/bluemind-ha.conf"
# With storage.multipath: multipath-tools reads /etc/multipath.conf, then its conf.d (the admin's file stays).
MULTIPATH_CONF = "/etc/multipath/conf.d/bluemind-ha.conf"

# --- configuration sync (lsyncd) ---------------------------------------------------------------------------
LSYNCD_CONF = "/etc/lsyncd/lsyncd.conf.lua"
LSYNCD_UNIT = "/etc/systemd/system/lsyncd.service"
SYNC_KEY = "/root/.ssh/bluemind-ha-sync"
# The peer's host key, pinned in a file of its own: a stale or absent entry stops the sync, never silently
# trusts a new key.
SYNC_KNOWN_HOSTS = "/root/.ssh/bluemind-ha-sync.known_hosts"
LSYNCD_LOG_DIR = "/var/log/lsyncd"
# What the peer's lsyncd may write on this node: an rsync daemon configuration, one module per synced root.
SYNC_RSYNCD_CONF = "/etc/bluemind-ha/rsyncd-sync.conf"
# The start-up guard of lsyncd (ExecStartPre) and the admin's command to resolve its refusal: `check`
# compares with the peer, `push` sends this node's version to the peer (components/scripts/sync-guard.sh).
SYNC_GUARD = "/usr/local/sbin/bluemind-ha-sync"
# Written by the guard on the node that starts pushing, and carried to the peer by the sync: a peer without
# it never received a sync, so nothing on it is newer configuration (a first start).
SYNC_STAMP = "/etc/bluemind-ha-sync.stamp"
# Where the receiving node keeps what the sync overwrote or deleted: inside each synced root (the rsync
# daemon is chrooted to it), one dated directory per lsyncd start (or `push`).
SYNC_BACKUP_DIR = ".bluemind-ha-sync-backup"
# The guard's last verdict (what to run after a refusal) and lsyncd's status (its backlog): the mail alert of
# an event of lsyncd's resource quotes them (components/agents/alert_smtp). World-readable: paths, no secret.
SYNC_GUARD_REPORT = f"{LSYNCD_LOG_DIR}/guard"
SYNC_REPORTS = (SYNC_GUARD_REPORT, f"{LSYNCD_LOG_DIR}/lsyncd.status")
