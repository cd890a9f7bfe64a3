"""The typed, frozen settings a stack parses into: what every renderer and component reads."""
from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass


class _TextEnum(enum.StrEnum):
    """An enum that is also its text: `mode == "manual"`, f-strings and JSON all see the plain value."""


class FailoverMode(_TextEnum):
    AUTOMATIC = "automatic"  # IPMI fencing on both nodes; the group moves on its own
    MANUAL = "manual"        # no STONITH; a lone node freezes, an admin takes over


class HostKind(_TextEnum):
    LIBVIRT = "libvirt"      # VMs on one hypervisor: a lab
    EXISTING = "existing"    # bare metal reached over SSH


class StorageKind(_TextEnum):
    TGT = "tgt"              # our own iSCSI target on the storage host
    EXTERNAL = "external"    # an existing iSCSI SAN


class ProbeKind(_TextEnum):
    """How ocf:bluemind-ha:service checks a service (components/services.py)."""

    PORT = "port"
    HTTP = "http"
    ELASTICSEARCH = "elasticsearch"
    CORE = "core"


@dataclass(frozen=True)
class FailoverPolicy:
    """What the failover mode means for corosync and pacemaker, decided once here; renderers only print it."""

    two_node: bool               # corosync votequorum two_node (implies wait_for_all)
    stonith_enabled: bool
    no_quorum_policy: str        # stop | freeze
    migration_threshold: int     # 0: failures never move the group
    start_failure_is_fatal: bool
    priority_fencing_delay_s: int = 0  # 0: none (manual: no fencing; qdevice: the arbitrator decides splits)
    quorum_device: bool = False  # a third vote from corosync-qnetd (cluster.qdevice)
    # The static delay of the device that fences the primary (pcmk_delay_base). Two nodes: while the group runs
    # nowhere both have the same priority and would shoot at once; this makes the primary win. Half the priority
    # delay, so that a node running the group still wins against the primary (15 s against 7 s by default).
    # With an arbitrator only the quorate side fences: no race to break, and the delay would only slow down
    # every failover away from a crashed primary (lab/README.md measured it).
    fence_delay_base_s: int = 0

    @classmethod
    def derive(cls, mode: str, migration_threshold: int, priority_fencing_delay_s: int = 0,
               quorum_device: bool = False) -> FailoverPolicy:
        if mode == FailoverMode.AUTOMATIC and quorum_device:
            # Three votes: after a split only the side the arbitrator votes for is quorate, so only it fences and
            # nothing races: no two_node, no priority-fencing-delay. An inquorate node freezes (keeps what runs,
            # starts nothing): with the arbitrator down, the loss of the passive node leaves the active one
            # serving instead of stopping BlueMind; if the other side is quorate it fences this one anyway.
            return cls(two_node=False, stonith_enabled=True, no_quorum_policy="freeze",
                       migration_threshold=migration_threshold, start_failure_is_fatal=True,
                       priority_fencing_delay_s=0, quorum_device=True)
        if mode == FailoverMode.AUTOMATIC:
            return cls(two_node=True, stonith_enabled=True, no_quorum_policy="stop",
                       migration_threshold=migration_threshold, start_failure_is_fatal=True,
                       priority_fencing_delay_s=priority_fencing_delay_s,
                       fence_delay_base_s=priority_fencing_delay_s // 2)
        # failover: manual. Nothing ever starts on a node that cannot prove its peer is gone: a lone node is
        # inquorate and freezes; a failing service is restarted in place, forever; only the admin moves the group.
        return cls(two_node=False, stonith_enabled=False, no_quorum_policy="freeze", migration_threshold=0,
                   start_failure_is_fatal=False)


@dataclass(frozen=True)
class Bmc:
    """A node's IPMI endpoint (iDRAC, iLO, VirtualBMC): what fence_ipmilan talks to."""

    address: str
    port: int
    username: str
    password_key: str  # the secret config key holding its password


@dataclass(frozen=True)
class Node:
    name: str
    node_id: int
    ip: str
    link1_ip: str | None
    ssh_user: str
    cores: int
    ram_gb: int
    iqn: str
    bmc: Bmc | None
    # The host's OpenSSH public host key line, pinned for every SSH connection (existing hosts); None for a
    # libvirt VM, whose host key the program generates.
    ssh_host_key: str | None = None
    # The cluster-packages step may rename a host whose name is not `name` (otherwise it refuses).
    rename_host: bool = False
    # Raised by the admin after the host was reinstalled or replaced: every step of the node runs again
    # (components/remote_step.py), since a plain `pulumi up` runs a step only when its inputs change.
    generation: int = 0
    storage_ip: str | None = None  # its address on network.storage_subnet

    @property
    def iscsi_ip(self) -> str:
        """The address the node's iSCSI sessions come from: its storage address, or its only one."""
        return self.storage_ip or self.ip


@dataclass(frozen=True)
class Network:
    subnet: ipaddress.IPv4Network
    vip: str
    gateway: str
    dns: tuple[str, ...]
    nic: str
    link1_subnet: ipaddress.IPv4Network | None
    storage_subnet: ipaddress.IPv4Network | None = None  # iSCSI's own network (nodes' storage_ip, the portal)

    @property
    def prefix(self) -> int:
        return self.subnet.prefixlen


@dataclass(frozen=True)
class BlueMind:
    version: str
    major: int
    minor: int
    url: str
    users: int
    profile: str
    mailbox_quota_gb: float
    # The repository without the subscription id (which is the secret `subscription_url`).
    apt_repository: str
    # BlueMind's repository key, ASCII-armored (ends with a newline), or None: then apt must trust it otherwise.
    apt_signing_key: str | None = None
    # The update chain may install a version lower than the cluster's recorded release (a rollback).
    allow_downgrade: bool = False


@dataclass(frozen=True)
class Libvirt:
    uri: str
    hypervisor_address: str  # the hypervisor's address on the lab network: VirtualBMC listens here
    hypervisor_ssh_user: str
    pool: str
    image_url: str
    network_name: str
    root_disk_gb: int
    ssh_public_key: str  # authorized for root on every VM, through cloud-init
    hypervisor_host_key: str | None = None  # the hypervisor's OpenSSH public host key line


@dataclass(frozen=True)
class StorageHost:
    name: str
    ip: str
    ssh_user: str
    cores: int
    ram_gb: int
    volume_group: str
    physical_device: str
    ssh_host_key: str | None = None  # as Node.ssh_host_key
    storage_ip: str | None = None  # its address on network.storage_subnet: the portal


@dataclass(frozen=True)
class Lun:
    """One block device shared by the two nodes, holding one of BlueMind's data directories."""

    directory: str
    number: int
    size_gb: int

    @property
    def slug(self) -> str:
        return self.directory.strip("/").replace("/", "-")

    @property
    def fs_label(self) -> str:
        """The filesystem's label, so `blkid` tells the LUNs apart: the directory's name, after its parent's
        unless that is /var/spool (/var/spool/cyrus: cyrus, /var/lib/cyrus: lib-cyrus), cut to the 12
        characters xfs allows."""
        parent, name = self.directory.rstrip("/").rsplit("/", 2)[-2:]
        return (name if parent in ("", "spool") else f"{parent}-{name}")[:12]


@dataclass(frozen=True)
class Storage:
    kind: StorageKind
    target_iqn: str
    portal_ip: str
    portal_port: int
    host: StorageHost | None
    fstype: str
    chap_username: str
    luns: tuple[Lun, ...]
    # The admin's word that this run may stop the services to add a LUN to a live cluster (filesystems step).
    maintenance_window: bool = False
    chap_mutual_username: str = "bluemind-target"  # the target's answer to the nodes' challenge (outgoinguser)
    multipath: bool = False
    second_portal_ip: str | None = None  # with multipath only

    @property
    def portal(self) -> str:
        return f"{self.portal_ip}:{self.portal_port}"

    @property
    def portals(self) -> tuple[str, ...]:
        """Every portal a node keeps a session through (address:port): two with multipath."""
        second = (f"{self.second_portal_ip}:{self.portal_port}",) if self.second_portal_ip else ()
        return (self.portal, *second)

    @property
    def replacement_timeout_s(self) -> int:
        """open-iscsi's node.session.timeo.replacement_timeout: how long I/O to a LUN waits for its lost
        session to come back before the kernel fails it (and sets the disk transport-offline). It decides
        what a lost path does: 15 s rides out a target restart or a switch failover, and then I/O fails,
        so a lost LUN surfaces as a clean failed Filesystem monitor and a stop that completes (pacemaker
        recovers or moves the group) instead of processes hung in D state, a monitor timeout, an unkillable
        stop and a fence (open-iscsi's default is 120 s). The storage watch gives a lost session just as
        long (its recovery_wait) before it fails, so it fails when I/O does, never on a blip.
        With dm-multipath, 5 s: a lost path fails its I/O fast so that dm retries it on the other path, and
        dm itself queues while no path is left (multipath.conf's no_path_retry, bounded too)."""
        return 5 if self.multipath else 15


@dataclass(frozen=True)
class QDevice:
    """The arbitrator (cluster.qdevice): corosync-qnetd on a third host gives the two nodes a third vote through
    corosync-qdevice, so after a split only one side is quorate. An existing host over SSH, or a small VM in a
    libvirt lab."""

    name: str
    ip: str
    ssh_user: str
    algorithm: str  # ffsplit
    cores: int
    ram_gb: int
    ssh_host_key: str | None = None  # as Node.ssh_host_key


@dataclass(frozen=True)
class ClusterOptions:
    name: str
    token_ms: int
    stickiness: int
    migration_threshold: int
    failure_timeout_s: int
    priority_fencing_delay_s: int
    stonith_timeout_s: int
    ipmi_cipher: int
    alert_recipient: str | None  # the first of alert_recipients
    alert_recipients: tuple[str, ...] = ()
    ping_targets: tuple[str, ...] = ()  # as set; Settings.ping_targets applies the default
    alert_relay: str | None = None  # host[:port]
    qdevice: QDevice | None = None


@dataclass(frozen=True)
class Sync:
    extra_paths: tuple[str, ...]
    extra_excludes: tuple[str, ...]


@dataclass(frozen=True)
class Firewall:
    """The nodes' nftables table (components/render/firewall.py). `admin_networks`: who may SSH to the nodes,
    besides the peer (never empty). `strict_output`: outbound only to what a node needs."""

    enabled: bool
    admin_networks: tuple[ipaddress.IPv4Network, ...]
    strict_output: bool = True


@dataclass(frozen=True)
class Settings:
    stack: str
    bluemind: BlueMind
    failover: FailoverMode
    network: Network
    host_kind: HostKind
    libvirt: Libvirt | None
    nodes: tuple[Node, Node]
    storage: Storage
    cluster: ClusterOptions
    sync: Sync
    firewall: Firewall
    ssh_key_secret: str | None = None
    # What the settings accept but advise against (a portal on the client network...), for `pulumi up` and the
    # plan to show: (key, problem, advice).
    warnings: tuple[tuple[str, str, str], ...] = ()

    @property
    def fenced(self) -> bool:
        return self.failover == FailoverMode.AUTOMATIC

    @property
    def policy(self) -> FailoverPolicy:
        """two_node, stonith-enabled, no-quorum-policy, migration-threshold, start-failure-is-fatal."""
        return FailoverPolicy.derive(self.failover, self.cluster.migration_threshold,
                                     self.cluster.priority_fencing_delay_s, self.qdevice is not None)

    @property
    def qdevice(self) -> QDevice | None:
        """The arbitrator, when the stack has one (cluster.qdevice)."""
        return self.cluster.qdevice

    @property
    def primary(self) -> Node:
        """The first node: it creates the filesystems and pushes the CIB."""
        return self.nodes[0]

    @property
    def ping_targets(self) -> tuple[str, ...]:
        """What ocf:pacemaker:ping pings on each node: the setting, or the gateway."""
        return self.cluster.ping_targets or (self.network.gateway,)

    @property
    def second_link(self) -> bool:
        return self.network.link1_subnet is not None

    @property
    def storage_network(self) -> bool:
        return self.network.storage_subnet is not None

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def peer_of(self, node: Node) -> Node:
        return next(n for n in self.nodes if n.name != node.name)
