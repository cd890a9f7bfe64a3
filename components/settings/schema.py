"""Every setting, declared once: its type, default, what is allowed, and a one-line meaning.

This one table drives the reader (components/settings/reader.py: types, ranges, grammars, unknown keys),
the section parsers (which add the cross-key checks listed in CHECKS) and the README's "Configuration
reference" and "What the settings refuse" (`python -m tools.settings_doc`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.settings import grammar as g
from components.settings.model import FailoverMode, HostKind, StorageKind


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()

TEXT, INT, NUMBER, CHOICE, IPV4, CIDR, PATH = "text", "int", "number", "choice", "ipv4", "cidr", "path"
IPV4S, PATHS, EMAILS, SIZES, NUMBERS, OBJECT, NODES, SECRET, SSH_KEY = (
    "ipv4s", "paths", "emails", "sizes", "numbers", "object", "nodes", "secret", "ssh_key")
BOOL, CIDRS, PGP_KEY = "bool", "cidrs", "pgp_key"


@dataclass(frozen=True)
class Key:
    path: str                 # "bluemind.version", "nodes[].bmc.port"
    type: str
    meaning: str
    default: Any = REQUIRED   # REQUIRED, None (optional, no value) or the default value
    default_doc: str = ""     # the README's Default column when the default is computed
    grammar: g.Grammar | None = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def parent(self) -> str:
        return self.path.rsplit(".", 1)[0] if "." in self.path else ""

    def allowed(self) -> str:
        """What the key accepts, in words: the refusals and the README say the same."""
        if self.choices:
            return "one of " + ", ".join(f"`{c}`" for c in self.choices)
        if self.type in (INT, NUMBER):
            whole = "a whole number" if self.type == INT else "a finite number"
            return f"{whole} from {_num(self.low)} to {_num(self.high)}"
        says = {IPV4: "an IPv4 address", CIDR: "an IPv4 network in CIDR form (192.168.150.0/24)",
                PATH: g.PATH_SAYS, IPV4S: "a list of IPv4 addresses", PATHS: "a list, each " + g.PATH_SAYS,
                EMAILS: "an e-mail address or a list of them", SIZES: "a map of shared directory to whole GB",
                NUMBERS: "a map of shared directory to a LUN number from 0 to 16383", OBJECT: "a map",
                BOOL: "`true` or `false`", CIDRS: "a non-empty list of IPv4 networks in CIDR form (10.0.0.0/24)",
                NODES: "a list of exactly two maps", SECRET: "a Pulumi secret (`pulumi config set --secret`)",
                SSH_KEY: g.SSH_KEY_SAYS,
                PGP_KEY: g.PGP_KEY_SAYS}
        if self.grammar:
            return self.grammar.says
        return says.get(self.type, "text")

    def default_text(self) -> str:
        if self.default_doc:
            return self.default_doc
        if self.default is REQUIRED:
            return "required"
        if self.default is None:
            return "none"
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        if isinstance(self.default, (list, tuple)):
            return "`[]`"
        return f"`{self.default}`"


def _num(value: float | None) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return f"{int(value):,}".replace(",", " ")


SECTIONS = ("bluemind", "failover", "network", "hosts", "nodes", "storage", "cluster", "sync", "firewall")
SECRETS = ("corosync_authkey", "chap_password", "chap_mutual_password", "subscription_url")
# The CHAP secrets' limits, checked where they are read (components/secrets.py): RFC 3720 section 8.2.1 wants 96
# bits at least (12 bytes); open-iscsi keeps at most 255 (AUTH_STR_MAX_LEN 256 with its NUL); a space would cut
# tgt's `incominguser` line and iscsid.conf's value.
CHAP_SECRETS = ("chap_password", "chap_mutual_password")
CHAP_SECRET_LENGTH = (12, 255)
# Keys bluemind-ha no longer reads: a stack that still sets one is refused with why and how to remove it, never
# silently accepted (an admin would believe it still did something).
RETIRED = {
    "hacluster_password": "is no longer used: nothing on the nodes logs in as hacluster with a password (no pcsd, "
                          "no hawk), so bluemind-ha locks that account's password instead (the hacluster-lock step)",
}
OPTIONAL_SECRETS = ("ssh_private_key",)
BMC_PASSWORD_PREFIX = "bmc_password_"

KEYS: tuple[Key, ...] = (
    # bluemind
    Key("bluemind", OBJECT, "BlueMind itself."),
    Key("bluemind.version", TEXT, "BlueMind version; the major (4 or 5) picks the service list and the sizing table. "
        "Changing it runs the update chain.", grammar=g.VERSION),
    Key("bluemind.url", TEXT, "The single front-end name, served on the VIP.", grammar=g.DNS_NAME),
    Key("bluemind.users", INT, "Number of users, for sizing.", low=1, high=1_000_000),
    Key("bluemind.profile", CHOICE, "Usage profile: mail (1 unit/user), collaboration (2), collaboration-mobile (5), "
        "from 5.5 collaboration-mobile-50g (25).",
        choices=("mail", "collaboration", "collaboration-mobile", "collaboration-mobile-50g")),
    Key("bluemind.mailbox_quota_gb", NUMBER, "Mailbox quota; with `users` it sizes the LUNs.",
        default_doc="by profile (2/4/10/50)", default=None, low=0.1, high=100_000.0),
    Key("bluemind.apt_repository", TEXT, "BlueMind's apt repository WITHOUT your subscription id (that is the "
        "secret `subscription_url`). Changing it runs the update chain too.", grammar=g.HTTPS_URL),
    Key("bluemind.apt_signing_key", PGP_KEY, "BlueMind's repository signing key (a YAML block, `|`), from "
        "BlueMind; check its fingerprint with them. Installed as /etc/apt/keyrings/bluemind.asc and named by the "
        "apt source (`signed-by`), so only it may sign BlueMind's packages. Without it the source has no "
        "`signed-by` and the nodes must already trust BlueMind's key (README, Deploy to production).",
        default=None),
    Key("bluemind.allow_downgrade", BOOL, "Let the update chain install a `version` lower than the release the "
        "cluster runs (recorded in the CIB); otherwise its first step refuses. apt downgrades the packages, never "
        "BlueMind's database: restore the data first, and remove the key again afterwards.", default=False),
    # failover
    Key("failover", CHOICE, "`automatic` requires IPMI fencing for both nodes; `manual`: no STONITH, an admin "
        "takes over (runbook).", default=FailoverMode.AUTOMATIC.value, choices=tuple(m.value for m in FailoverMode)),
    # network
    Key("network", OBJECT, "The nodes' network."),
    Key("network.subnet", CIDR, "The nodes' subnet."),
    Key("network.vip", IPV4, "The floating IP (in `subnet`, used by nothing else)."),
    Key("network.gateway", IPV4, "Default gateway (in `subnet`)."),
    Key("network.dns", IPV4S, "Name servers (libvirt lab VMs).", default=()),
    Key("network.nic", TEXT, "The interface the VIP is added to (IPaddr2 `nic`).", default="eth0", grammar=g.NIC),
    Key("network.link1_subnet", CIDR, "A second corosync link's subnet (apart from `subnet`); needs "
        "`nodes[].link1_ip` on both nodes.", default=None),
    Key("network.storage_subnet", CIDR, "A dedicated storage network for iSCSI, apart from `subnet` (README, "
        "\"Security model\"): needs `nodes[].storage_ip` on both nodes and the portal in it (tgt: "
        "`storage.host.storage_ip`). Without it iSCSI crosses the client network (a warning).", default=None),
    # hosts
    Key("hosts", OBJECT, "Where the cluster runs."),
    Key("hosts.kind", CHOICE, "`libvirt` (VMs on one hypervisor: a lab) or `existing` (bare metal over SSH).",
        choices=tuple(k.value for k in HostKind)),
    Key("hosts.libvirt", OBJECT, "The lab hypervisor (required with kind libvirt).", default=None),
    Key("hosts.libvirt.uri", TEXT, "libvirt connection URI.", default="qemu:///system", grammar=g.LIBVIRT_URI),
    Key("hosts.libvirt.hypervisor_address", IPV4, "The hypervisor's address on the lab network (= "
        "`network.gateway`); VirtualBMC listens there."),
    Key("hosts.libvirt.hypervisor_ssh_user", TEXT, "SSH user on the hypervisor (runs VirtualBMC): root, or a user "
        "with passwordless sudo.", default="root", grammar=g.SSH_USER),
    Key("hosts.libvirt.hypervisor_host_key", SSH_KEY, "The hypervisor's SSH host key "
        "(`/etc/ssh/ssh_host_ed25519_key.pub`), pinned for every connection."),
    Key("hosts.libvirt.pool", TEXT, "Storage pool.", default="default", grammar=g.LIBVIRT_NAME),
    Key("hosts.libvirt.image_url", TEXT, "Debian 12 cloud image.", grammar=g.DOWNLOAD_URL),
    Key("hosts.libvirt.network_name", TEXT, "libvirt network (NAT, no DHCP: static addresses).",
        default="bluemind-ha", grammar=g.LIBVIRT_NAME),
    Key("hosts.libvirt.root_disk_gb", INT, "Root disk of each VM.", default=40, low=20, high=4096),
    Key("hosts.libvirt.ssh_public_key", SSH_KEY, "Authorized for root on every VM (cloud-init). A public key only."),
    # nodes
    Key("nodes", NODES, "The two cluster nodes; the first is the primary: it creates the filesystems and pushes "
        "the CIB."),
    Key("nodes[].name", TEXT, "Hostname and cluster node name (unique).", grammar=g.HOST_NAME),
    Key("nodes[].id", INT, "corosync nodeid (unique).", low=1, high=65535),
    Key("nodes[].ip", IPV4, "Address in `network.subnet` (unique)."),
    Key("nodes[].link1_ip", IPV4, "Address on the second corosync link (in `network.link1_subnet`).", default=None),
    Key("nodes[].storage_ip", IPV4, "Address on the storage network (in `network.storage_subnet`): the only address "
        "the target admits the node from, and the only one its iSCSI may leave from (host firewall).", default=None),
    Key("nodes[].ssh_user", TEXT, "SSH user (existing hosts): root, or a user with passwordless sudo.",
        default="root", grammar=g.SSH_USER),
    Key("nodes[].ssh_host_key", SSH_KEY, "The host's SSH host key (`/etc/ssh/ssh_host_ed25519_key.pub`), pinned; "
        "existing hosts only (the program makes the VMs' keys).", default_doc="required (existing)", default=None),
    Key("nodes[].rename_host", BOOL, "Let the cluster-packages step rename the host to `name` when it is named "
        "otherwise; without it a host of another name is refused (an existing host is never renamed silently). "
        "Remove it again once renamed.", default=False),
    Key("nodes[].generation", INT, "Raise it by one after the node's host was reinstalled or replaced: every step "
        "of this node runs again on the next `pulumi up` (steps run only when their inputs change), and the peer "
        "pins the node's new keys.", default=0, low=0, high=1000000),
    Key("nodes[].cores", INT, "Cores; checked against BlueMind's sizing.", default_doc="sized (libvirt) / "
        "required (existing)", default=None, low=1, high=4096),
    Key("nodes[].ram_gb", INT, "RAM; checked against BlueMind's sizing, equal on both nodes.",
        default_doc="sized (libvirt) / required (existing)", default=None, low=1, high=65536),
    Key("nodes[].iqn", TEXT, "The node's iSCSI initiator name (unique).", default=None,
        default_doc="`<target IQN prefix>:<name>`", grammar=g.IQN),
    Key("nodes[].bmc", OBJECT, "The node's IPMI endpoint (iDRAC/iLO; VirtualBMC in the lab: hypervisor address, "
        "distinct ports). Password: secret `bmc_password_<name>` (dashes become `_`).", default=None),
    Key("nodes[].bmc.address", IPV4, "BMC address (not a node's own)."),
    Key("nodes[].bmc.port", INT, "IPMI port.", default=623, low=1, high=65535),
    Key("nodes[].bmc.username", TEXT, "IPMI user of the fence device.", grammar=g.BMC_USER),
    # storage
    Key("storage", OBJECT, "The iSCSI storage of the shared directories."),
    Key("storage.kind", CHOICE, "`tgt` (an iSCSI target on `host`) or `external` (an existing iSCSI SAN). "
        "`nfs` is refused.", choices=tuple(k.value for k in StorageKind)),
    Key("storage.target_iqn", TEXT, "The target's IQN.", grammar=g.IQN),
    Key("storage.portal", IPV4, "Portal address (external SAN; tgt: the host's `ip`).", default=None,
        default_doc="the host's `ip`"),
    Key("storage.portal_port", INT, "Portal port.", default=3260, low=1, high=65535),
    Key("storage.multipath", BOOL, "dm-multipath over two portals (external SAN only, with `second_portal`): "
        "sessions through both, each LUN one `/dev/mapper/bluemind-<directory>` device, I/O queued 20 s "
        "when every path is down, then failed.", default=False),
    Key("storage.second_portal", IPV4, "The SAN's second portal address (same port; another network path), "
        "for `multipath`.", default=None),
    Key("storage.fstype", CHOICE, "Filesystem on each LUN.", default="xfs", choices=("xfs", "ext4")),
    Key("storage.chap_username", TEXT, "CHAP user the nodes log in as; the secret is `chap_password`.",
        default="bluemind", grammar=g.CHAP_USER),
    Key("storage.chap_mutual_username", TEXT, "Mutual CHAP: the user the target answers the nodes' challenge as "
        "(tgt's `outgoinguser`); the secret is `chap_mutual_password`.", default="bluemind-target",
        grammar=g.CHAP_USER),
    Key("storage.host", OBJECT, "The storage host (tgt kind; a VM in a libvirt lab).", default=None),
    Key("storage.host.name", TEXT, "Its hostname (not a node's).", grammar=g.HOST_NAME),
    Key("storage.host.ip", IPV4, "Its address (not a node's; in `network.subnet` in a lab)."),
    Key("storage.host.storage_ip", IPV4, "Its address on `network.storage_subnet`: the portal (required with a "
        "storage network).", default=None),
    Key("storage.host.ssh_user", TEXT, "SSH user.", default="root", grammar=g.SSH_USER),
    Key("storage.host.ssh_host_key", SSH_KEY, "Its SSH host key, pinned; existing hosts only.",
        default_doc="required (existing)", default=None),
    Key("storage.host.cores", INT, "Cores.", default=2, low=1, high=1024),
    Key("storage.host.ram_gb", INT, "RAM.", default=4, low=1, high=65536),
    Key("storage.host.volume_group", TEXT, "LVM volume group of the LUNs: each a logical volume, created once, "
        "grown, never shrunk.", default="bluemind-luns", grammar=g.VOLUME_GROUP),
    Key("storage.host.physical_device", TEXT, "The volume group's disk.", default="/dev/vdb", grammar=g.DEVICE),
    Key("storage.lun_sizes_gb", SIZES, "Per-directory size overrides; never below the size derived from users x "
        "quota.", default=None, default_doc="derived"),
    Key("storage.lun_numbers", NUMBERS, "External SAN only, and required there: each shared directory's LUN "
        "number (distinct).", default=None, default_doc="1.. in order (tgt)"),
    Key("storage.extra_directories", PATHS, "More directories on their own LUN (e.g. /var/spool/bm-filehosting); "
        "no system directory, none inside another shared one.", default=()),
    Key("storage.maintenance_window", BOOL, "Say that this run is a maintenance window: only then does the "
        "filesystems step add a LUN to a live cluster, stopping the services while it seeds the new filesystem "
        "(README, Adding a shared directory (LUN) to a running cluster). Set it back to false afterwards.",
        default=False),
    # cluster
    Key("cluster", OBJECT, "Cluster tuning.", default=None, default_doc="`{}`"),
    Key("cluster.name", TEXT, "corosync cluster name.", default="bluemind", grammar=g.CLUSTER_NAME),
    Key("cluster.token_ms", INT, "corosync token timeout.", default=5000, low=1000, high=60000),
    Key("cluster.stickiness", INT, "resource-stickiness (no failback).", default=100, low=1, high=1_000_000),
    Key("cluster.migration_threshold", INT, "Failures before the group leaves a node; refused with failover: "
        "manual, where failures never move the group.", default=3, low=1, high=100),
    Key("cluster.failure_timeout_s", INT, "When a failure is forgotten.", default=600, low=0, high=86400),
    Key("cluster.priority_fencing_delay_s", INT, "Fence-race protection for the node running the group (with "
        "`qdevice`: not set, nor the primary's static fence delay (half of it): the arbitrator decides).",
        default=15, low=0, high=600),
    Key("cluster.stonith_timeout_s", INT, "Fence timeout; must exceed the delays (1.5 x `priority_fencing_delay_s`).", default=90, low=10, high=3600),
    Key("cluster.ipmi_cipher", INT, "IPMI 2.0 cipher suite of the fence devices (see \"IPMI cipher suite\"); "
        "0 to 2 are refused.", default=3, low=0, high=17, choices=("3", "17")),
    Key("cluster.ping_targets", IPV4S, "Addresses each node pings to watch its uplink (ocf:pacemaker:ping, fenced "
        "stacks): the group leaves a node that reaches none of them for a node that reaches one.", default=None,
        default_doc="`[network.gateway]`"),
    Key("cluster.alert_recipient", EMAILS, "Mail address(es) for pacemaker alerts (node, fencing and resource "
        "events).", default=None),
    Key("cluster.alert_relay", TEXT, "The SMTP relay the alerts are submitted to, host[:port] (port 25 by "
        "default, 465 for implicit TLS): never the nodes' own postfix, which a failover stops. It must accept "
        "mail from both nodes' addresses without authentication.", default=None, grammar=g.SMTP_RELAY),
    Key("cluster.qdevice", OBJECT, "The arbitrator: corosync-qnetd on a third host gives the nodes a third vote "
        "(corosync-qdevice, TLS required), so after a split only one side is quorate and fences: no "
        "priority-fencing-delay, no two_node (README, \"qdevice arbitration\"). An existing host over SSH, or a "
        "small VM in a libvirt lab.", default=None),
    Key("cluster.qdevice.name", TEXT, "Its hostname (not a node's nor the storage host's).", grammar=g.HOST_NAME),
    Key("cluster.qdevice.ip", IPV4, "Its address: not a node's, the VIP, the portal or a BMC (in `network.subnet` "
        "in a lab). The nodes reach it on TCP 5403."),
    Key("cluster.qdevice.ssh_user", TEXT, "SSH user: root, or a user with passwordless sudo.", default="root",
        grammar=g.SSH_USER),
    Key("cluster.qdevice.ssh_host_key", SSH_KEY, "Its SSH host key, pinned; existing hosts only.",
        default_doc="required (existing)", default=None),
    Key("cluster.qdevice.cores", INT, "Cores of the lab VM (libvirt).", default=1, low=1, high=64),
    Key("cluster.qdevice.ram_gb", INT, "RAM of the lab VM (libvirt).", default=1, low=1, high=64),
    Key("cluster.qdevice.algorithm", CHOICE, "How corosync-qnetd picks the side that gets its vote; `lms` is "
        "refused (README, \"qdevice arbitration\").", default="ffsplit", choices=("ffsplit",)),
    # sync
    Key("sync", OBJECT, "Configuration sync (lsyncd).", default=None, default_doc="`{}`"),
    Key("sync.extra_paths", PATHS, "More paths to replicate from the active to the passive node; no system "
        "directory.", default=()),
    Key("sync.extra_excludes", PATHS, "More paths never to replicate.", default=()),
    # firewall
    Key("firewall", OBJECT, "The nodes' host firewall: nftables table `inet bluemind_ha` (README, \"Host firewall\").",
        default=None, default_doc="`{}`"),
    Key("firewall.enabled", BOOL, "On: each node gets the table (inbound: policy drop; only the cluster's and "
        "BlueMind's ports open). `false`: the program removes its table and unit and leaves the host's firewall "
        "to you.", default=True),
    Key("firewall.admin_networks", CIDRS, "Who may SSH to the nodes, besides the peer. MUST contain the machine "
        "that runs `pulumi up` (it connects over SSH): the firewall step refuses, and puts the previous rules back, "
        "when the SSH client it runs for is outside.", default=None, default_doc="`[network.subnet]`"),
    Key("firewall.output", CHOICE, "`strict`: outbound only to what a node needs (peer, portal, peer's BMC, DNS, "
        "NTP, HTTP(S), SMTP); `open`: any outbound.", default="strict", choices=("strict", "open")),
    # secrets
    Key("corosync_authkey", SECRET, "corosync's key: `corosync-keygen -k authkey && base64 -w0 authkey | pulumi "
        "config set --secret bluemind-ha:corosync_authkey`."),
    Key("chap_password", SECRET, "iSCSI CHAP secret the nodes prove themselves with: 12 to 255 printable "
        "characters, no space (RFC 3720: at least 96 bits; 16 at most for some SANs)."),
    Key("chap_mutual_password", SECRET, "iSCSI mutual CHAP secret the target proves itself with (tgt's "
        "`outgoinguser`; the nodes refuse a target without it): as `chap_password`, and not equal to it."),
    Key("subscription_url", SECRET, "Your BlueMind subscription's apt repository URL (it carries the "
        "subscription id)."),
    Key("bmc_password_<node>", SECRET, "Each fenced node's BMC password (dashes in the name become `_`).",
        default_doc="required (each `bmc`)"),
    Key("ssh_private_key", SECRET, "SSH key for every host (otherwise your SSH agent is used).", default=None),
)

BY_PATH: dict[str, Key] = {k.path: k for k in KEYS}


def key(path: str) -> Key:
    return BY_PATH[path]


def children(parent: str) -> tuple[str, ...]:
    """The keys an object at `parent` ("nodes[]", "hosts.libvirt") may hold, in declaration order."""
    return tuple(k.name for k in KEYS if k.parent == parent and "." in k.path)


def top_level() -> tuple[str, ...]:
    return tuple(k.path for k in KEYS if "." not in k.path and k.path != "bmc_password_<node>")


@dataclass(frozen=True)
class Check:
    keys: str
    refused: str


# The cross-key checks of the section parsers and components/settings/checks.py, for the README.
CHECKS: tuple[Check, ...] = (
    Check("(stack file)", "a duplicate key, a tab, a YAML syntax error (file and line), no `config:` mapping, keys "
          "in a near-miss namespace (`bluemind_ha:`)"),
    Check("(any key)", "an unknown key (with a suggestion); a list where a map is expected; a missing required key"),
    Check("bluemind.version", "a YAML number (`5.10` would arrive as 5.1); a major other than 4 or 5; and, by the "
          "update chain's first step on the hosts, a version lower than the release the cluster runs unless "
          "`allow_downgrade` is true"),
    Check("bluemind.profile", "`collaboration-mobile-50g` before BlueMind 5.5"),
    Check("bluemind.apt_signing_key", "a private key block, a secret-key packet, a checksum that does not match "
          "its body"),
    Check("bluemind.apt_repository", "a path component that looks like a subscription id (that is the secret "
          "`subscription_url`)"),
    Check("failover", "`automatic` without `bmc` on both nodes (the seed: no automatic changeover without STONITH)"),
    Check("network.vip", "outside `subnet`, or equal to the network or broadcast address, the gateway, a node, a BMC, "
          "the storage host or portal, or a DNS server"),
    Check("network.gateway", "outside `subnet`, the network or broadcast address"),
    Check("network.link1_subnet", "overlapping `subnet`; without `link1_ip` on both nodes"),
    Check("network.storage_subnet", "overlapping `subnet` or `link1_subnet`; without `storage_ip` on both nodes; "
          "a portal outside it (tgt: without `storage.host.storage_ip`), or a node's address or the VIP as the "
          "portal. Without a storage network, a portal in `subnet` is accepted with a WARNING (`pulumi up` and the "
          "plan show it): iSCSI then crosses the client network"),
    Check("nodes[].storage_ip", "without `network.storage_subnet`; outside it or its network or broadcast address; "
          "the node's `ip` or the VIP; the same on both nodes"),
    Check("storage.host.storage_ip", "without `network.storage_subnet`"),
    Check("storage.chap_mutual_username", "equal to `chap_username` (tgt keeps one account per name)"),
    Check("nodes", "not exactly two; equal names, ids, addresses, second-link addresses, IQNs or BMCs (address and "
          "port); unequal RAM; cores or RAM below BlueMind's sizing"),
    Check("nodes[].ip", "outside `network.subnet`; the gateway, the portal, the network or broadcast address"),
    Check("nodes[].name", "a name that clashes with another host's (storage host, `hypervisor` in a lab) or, in a "
          "lab, a VirtualBMC step (`install`): two resources would get one URN"),
    Check("nodes[].rename_host", "(on the host, by the cluster-packages step) a host whose name (`uname -n`) is "
          "not `name`, unless `rename_host` is true"),
    Check("nodes[].bmc.address", "a node's own address; in a lab, anything but the hypervisor, or the same port twice"),
    Check("nodes[].ssh_host_key", "missing for existing hosts; set for a libvirt VM; a private key"),
    Check("storage.kind", "`nfs` anything (the seed: cyrus-imap does not support NFS); `external` in a libvirt lab"),
    Check("storage.host", "with an external SAN; missing with tgt; a name or address equal to a node's"),
    Check("storage.multipath", "with kind `tgt` (one portal); without `second_portal` (dm-multipath needs two paths)"),
    Check("storage.second_portal", "without `multipath` (each LUN would show as two disks); equal to `portal`"),
    Check("storage.lun_sizes_gb", "a directory that gets no LUN; a size below the derived minimum"),
    Check("storage.lun_numbers", "with tgt; missing directories; directories that get no LUN; duplicate numbers"),
    Check("storage.extra_directories", "a system directory, one inside another shared directory, a duplicate, or one "
          "whose resource names clash with another's"),
    Check("storage.maintenance_window", "(on the host, by the filesystems step) a LUN whose Filesystem the live "
          "cluster's group does not have yet, unless `maintenance_window` is true"),
    Check("cluster.migration_threshold", "any value with `failover: manual`"),
    Check("cluster.stonith_timeout_s", "not above `priority_fencing_delay_s` plus the primary's static fence "
          "delay (half of `priority_fencing_delay_s`); neither is set with `qdevice`"),
    Check("cluster.qdevice", "with `failover: manual`; a name equal to a node's or the storage host's (or "
          "reserved in a lab); an address equal to a node's (either link, its storage address), the VIP, the "
          "gateway, the portal, the storage host's or a BMC's"),
    Check("cluster.qdevice.algorithm", "`lms`: for two nodes it decides no split better than `ffsplit`, and one "
          "algorithm is one behaviour to test and document"),
    Check("cluster.qdevice.ssh_host_key", "missing for an existing host; set for a libvirt VM"),
    Check("cluster.alert_recipient", "without `alert_relay`"),
    Check("cluster.ping_targets", "an empty list, an address listed twice, the VIP or a node's own address"),
    Check("sync.extra_paths", "a system directory (`/`, `/etc`, ...)"),
    Check("firewall.admin_networks", "an empty list (nobody could reach the nodes over SSH); a network listed twice"),
    Check("(secrets)", "a required secret missing, or stored in plain text (with the `pulumi config set --secret` "
          "command)"),
    Check("chap_password, chap_mutual_password", "(by the program, where it reads them) fewer than 12 or more than "
          "255 characters, a space or a character outside printable ASCII, the two equal; the message names the "
          "key, never the value"),
    Check("hacluster_password", "set at all: it is no longer used (the hacluster account is locked); remove it "
          "with `pulumi config rm bluemind-ha:hacluster_password`"),
)
