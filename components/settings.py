"""The one typed settings model of a bluemind-ha stack, parsed and validated before any resource exists.

`parse_settings` is pure: it takes the stack's configuration (key -> value, without the `bluemind-ha:`
namespace) and the set of keys Pulumi holds as secrets, and returns a frozen `Settings` or raises one
`SettingsError` that names the key and the fix. Secret *values* are never read here: only whether each
required secret is present and stored as a secret. The Pulumi shell reads the values as `Output`s.
"""
from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Mapping

from components import sizing

NAMESPACE = "bluemind-ha"

# The seed's safety rules, quoted in the refusals so the admin reads the reason, not just the rule.
SEED_NO_STONITH = (
    "BlueMind's HA page: without STONITH, automatic changeover must not be enabled, otherwise you may end up "
    "with a split-brain and corrupted data, which BlueMind support does not cover"
)
SEED_NO_NFS = (
    "BlueMind's HA page: cyrus-imap does not support NFS; /var/spool/cyrus and /var/lib/cyrus need "
    "block storage (Fibre Channel or iSCSI)"
)

NODE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
IQN = re.compile(r"^iqn\.\d{4}-\d{2}\.[a-z0-9][a-z0-9.-]*(:[A-Za-z0-9.:_-]+)?$")
VERSION = re.compile(r"^(\d+)\.(\d+)(\.\d+)*$")
ABSOLUTE_PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")


class SettingsError(ValueError):
    """One invalid setting: which key, what is wrong with it, and how to fix it."""

    def __init__(self, key: str, problem: str, fix: str):
        self.key = f"{NAMESPACE}:{key}" if key else NAMESPACE
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.key}: {problem}.\n  Fix: {fix}")


# ---------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class Network:
    subnet: ipaddress.IPv4Network
    vip: str
    gateway: str
    dns: tuple[str, ...]
    nic: str
    link1_subnet: ipaddress.IPv4Network | None

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
    apt_repository: str


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


@dataclass(frozen=True)
class StorageHost:
    name: str
    ip: str
    ssh_user: str
    cores: int
    ram_gb: int
    volume_group: str
    physical_device: str


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
    kind: str  # tgt (our own target on the storage host) | external (an existing SAN)
    target_iqn: str
    portal_ip: str
    portal_port: int
    host: StorageHost | None
    fstype: str
    chap_username: str
    luns: tuple[Lun, ...]

    @property
    def portal(self) -> str:
        return f"{self.portal_ip}:{self.portal_port}"


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
    alert_recipient: str | None


@dataclass(frozen=True)
class Sync:
    extra_paths: tuple[str, ...]
    extra_excludes: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    stack: str
    bluemind: BlueMind
    failover: str  # automatic | manual
    network: Network
    host_kind: str  # libvirt | existing
    libvirt: Libvirt | None
    nodes: tuple[Node, Node]
    storage: Storage
    cluster: ClusterOptions
    sync: Sync
    ssh_key_secret: str | None = None

    @property
    def fenced(self) -> bool:
        return self.failover == "automatic"

    @property
    def second_link(self) -> bool:
        return self.network.link1_subnet is not None

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def peer_of(self, node: Node) -> Node:
        return next(n for n in self.nodes if n.name != node.name)


# ---------------------------------------------------------------------------------------------------
# Reading raw config with key paths, so every error names where it came from
# ---------------------------------------------------------------------------------------------------
class _Obj:
    """A config object being read; remembers its key path and refuses keys nobody reads."""

    def __init__(self, raw: Any, path: str, allowed: tuple[str, ...]):
        if not isinstance(raw, Mapping):
            raise SettingsError(path, f"must be an object, got {type(raw).__name__}",
                                f"set {path} as a YAML mapping in stacks/Pulumi.<stack>.yaml")
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(allowed)}"
            raise SettingsError(f"{path}.{key}", "is not a known setting", hint)
        self.raw = raw
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, default: Any = None) -> Any:
        value = self.raw.get(name, default)
        return default if value is None else value

    def require(self, name: str, example: str) -> Any:
        if self.raw.get(name) in (None, ""):
            raise SettingsError(self.key(name), "is required", f"set it, for example {name}: {example}")
        return self.raw[name]

    def text(self, name: str, example: str, default: str | None = None) -> str:
        value = self.require(name, example) if default is None else self.get(name, default)
        if not isinstance(value, str):
            raise SettingsError(self.key(name), f"must be text, got {value!r}", f"set it like {name}: {example}")
        return value

    def integer(self, name: str, default: int | None, low: int, high: int) -> int:
        value = self.require(name, str(low)) if default is None else self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingsError(self.key(name), f"must be a whole number from {low} to {high}, got {value!r}",
                                f"set {name} to a value in that range")
        return value

    def number(self, name: str, default: float, low: float) -> float:
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
            raise SettingsError(self.key(name), f"must be a number of at least {low}, got {value!r}",
                                f"set {name} to a number")
        return float(value)

    def choice(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(name, choices[0], default)
        if value not in choices:
            raise SettingsError(self.key(name), f"must be one of {', '.join(choices)}, got {value!r}",
                                f"set {name} to one of {', '.join(choices)}")
        return value

    def ip(self, name: str, example: str, default: str | None = None) -> str:
        value = self.text(name, example, default)
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise SettingsError(self.key(name), f"is not an IPv4 address: {value!r}",
                                f"set it like {name}: {example}") from None

    def obj(self, name: str, allowed: tuple[str, ...], required: bool = True) -> "_Obj | None":
        if self.raw.get(name) is None:
            if required:
                raise SettingsError(self.key(name), "is required", f"add the {name} object; see README, Configuration")
            return None
        return _Obj(self.raw[name], self.key(name), allowed)

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(self.key(name), "must be a list of text values", f"set {name} as a YAML list")
        return tuple(value)


def _top(config: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> _Obj:
    if config.get(key) is None:
        raise SettingsError(key, "is required", f"add `{NAMESPACE}:{key}` to stacks/Pulumi.<stack>.yaml (README, Configuration)")
    return _Obj(config[key], key, allowed)


# ---------------------------------------------------------------------------------------------------
# Parsing each section
# ---------------------------------------------------------------------------------------------------
def _bluemind(config: Mapping[str, Any]) -> BlueMind:
    o = _top(config, "bluemind", ("version", "url", "users", "profile", "mailbox_quota_gb", "apt_repository"))
    version = str(o.require("version", '"5.3.2"'))
    match = VERSION.match(version)
    if not match or int(match.group(1)) not in sizing.SUPPORTED_MAJORS:
        raise SettingsError(o.key("version"), f"must be a BlueMind 4.x or 5.x version, got {version!r}",
                            'set it like version: "5.3.2"')
    major, minor = int(match.group(1)), int(match.group(2))
    profiles = sizing.profiles_for(major, minor)
    return BlueMind(
        version=version, major=major, minor=minor,
        url=o.text("url", "mail.example.com"),
        users=o.integer("users", None, 1, 1_000_000),
        profile=o.choice("profile", profiles),
        mailbox_quota_gb=o.number("mailbox_quota_gb", sizing.default_quota_gb(o.get("profile", profiles[0])), 0.1),
        apt_repository=o.text("apt_repository", "https://pkg.bluemind.net/... (your subscription URL)"),
    )


def _network(config: Mapping[str, Any]) -> Network:
    o = _top(config, "network", ("subnet", "vip", "gateway", "dns", "nic", "link1_subnet"))
    subnets = {}
    for name in ("subnet", "link1_subnet"):
        raw = o.get(name)
        if raw is None and name == "link1_subnet":
            subnets[name] = None
            continue
        try:
            subnets[name] = ipaddress.IPv4Network(o.text(name, "192.168.150.0/24"), strict=True)
        except ValueError:
            raise SettingsError(o.key(name), f"is not an IPv4 network in CIDR form: {raw!r}",
                                f"set it like {name}: 192.168.150.0/24") from None
    return Network(subnet=subnets["subnet"], vip=o.ip("vip", "192.168.150.100"), gateway=o.ip("gateway", "192.168.150.1"),
                   dns=o.strings("dns"), nic=o.text("nic", "eth0", "eth0"), link1_subnet=subnets["link1_subnet"])


def _libvirt(config: Mapping[str, Any]) -> tuple[str, Libvirt | None]:
    o = _top(config, "hosts", ("kind", "libvirt"))
    kind = o.choice("kind", ("libvirt", "existing"))
    if kind != "libvirt":
        return kind, None
    lv = o.obj("libvirt", ("uri", "hypervisor_address", "hypervisor_ssh_user", "pool", "image_url", "network_name",
                           "root_disk_gb", "ssh_public_key"))
    return kind, Libvirt(
        uri=lv.text("uri", "qemu:///system", "qemu:///system"),
        hypervisor_address=lv.ip("hypervisor_address", "192.168.150.1"),
        hypervisor_ssh_user=lv.text("hypervisor_ssh_user", "root", "root"),
        pool=lv.text("pool", "default", "default"),
        image_url=lv.text("image_url", "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"),
        network_name=lv.text("network_name", "bluemind-ha", "bluemind-ha"),
        root_disk_gb=lv.integer("root_disk_gb", 40, 20, 4096),
        ssh_public_key=lv.text("ssh_public_key", "ssh-ed25519 AAAA... admin@example"),
    )


def _nodes(config: Mapping[str, Any], bm: BlueMind, host_kind: str, network: Network, storage_iqn: str) -> tuple[Node, Node]:
    raw = config.get("nodes")
    if not isinstance(raw, list) or len(raw) != 2:
        count = len(raw) if isinstance(raw, list) else "no"
        raise SettingsError("nodes", f"must list exactly two cluster nodes, found {count}",
                            "declare the active and the passive node; bluemind-ha builds two-node active/passive clusters")
    need = sizing.node_size(bm.major, bm.users, bm.profile)
    nodes = []
    for i, item in enumerate(raw):
        o = _Obj(item, f"nodes[{i}]", ("name", "id", "ip", "link1_ip", "ssh_user", "cores", "ram_gb", "iqn", "bmc"))
        name = o.text("name", f"bm{i + 1}")
        if not NODE_NAME.match(name):
            raise SettingsError(o.key("name"), f"{name!r} is not a valid host name",
                                "use lower-case letters, digits and '-', starting with a letter (it becomes the hostname "
                                "and the corosync/pacemaker node name)")
        cores, ram = _node_size(o, need, host_kind, bm)
        bmc_obj = o.obj("bmc", ("address", "port", "username"), required=False)
        bmc = None
        if bmc_obj is not None:
            bmc = Bmc(address=bmc_obj.ip("address", "192.168.150.201"), port=bmc_obj.integer("port", 623, 1, 65535),
                      username=bmc_obj.text("username", "admin"), password_key=f"bmc_password_{name.replace('-', '_')}")
        nodes.append(Node(
            name=name, node_id=o.integer("id", None, 1, 65535), ip=o.ip("ip", f"192.168.150.{11 + i}"),
            link1_ip=o.ip("link1_ip", "10.10.10.11") if o.get("link1_ip") else None,
            ssh_user=o.text("ssh_user", "root", "root"), cores=cores, ram_gb=ram,
            iqn=o.text("iqn", "", f"{storage_iqn.split(':')[0]}:{name}"), bmc=bmc))
    for attr, label in (("name", "name"), ("node_id", "id"), ("ip", "ip")):
        if getattr(nodes[0], attr) == getattr(nodes[1], attr):
            raise SettingsError(f"nodes[1].{label}", f"is the same as nodes[0].{label} ({getattr(nodes[0], attr)})",
                                f"give each node its own {label}")
    for i, node in enumerate(nodes):
        if not IQN.match(node.iqn):
            raise SettingsError(f"nodes[{i}].iqn", f"{node.iqn!r} is not an iSCSI qualified name",
                                "use the form iqn.YYYY-MM.reversed.domain:name")
        if ipaddress.IPv4Address(node.ip) not in network.subnet:
            raise SettingsError(f"nodes[{i}].ip", f"{node.ip} is outside network.subnet {network.subnet}",
                                "put both nodes in the cluster subnet, or correct network.subnet")
        if (node.link1_ip is None) != (network.link1_subnet is None):
            raise SettingsError(f"nodes[{i}].link1_ip", "a second corosync link needs network.link1_subnet and a "
                                "link1_ip on both nodes", "set all three, or none of them")
        if node.link1_ip and ipaddress.IPv4Address(node.link1_ip) not in network.link1_subnet:
            raise SettingsError(f"nodes[{i}].link1_ip", f"{node.link1_ip} is outside network.link1_subnet",
                                "use an address of the second link's subnet")
    if nodes[0].ram_gb != nodes[1].ram_gb:
        raise SettingsError("nodes[1].ram_gb", f"differs from nodes[0].ram_gb ({nodes[1].ram_gb} vs {nodes[0].ram_gb} GB)",
                            "give both nodes the same RAM: bm-pimp sizes every JVM heap from the RAM it finds at start, "
                            "so after a failover the passive node must behave like the active one")
    return nodes[0], nodes[1]


def _node_size(o: _Obj, need: sizing.NodeSize, host_kind: str, bm: BlueMind) -> tuple[int, int]:
    """VMs are sized from BlueMind's tables (overridable upwards); bare-metal sizes are checked against them."""
    why = f"BlueMind {bm.major}.x sizing for {bm.users} users with profile {bm.profile} ({need.units} units)"
    if host_kind == "existing":
        cores = o.integer("cores", None, 1, 4096)
        ram = o.integer("ram_gb", None, 1, 65536)
    else:
        cores = o.integer("cores", need.cores, 1, 4096)
        ram = o.integer("ram_gb", need.ram_gb, 1, 65536)
    if cores < need.cores:
        raise SettingsError(o.key("cores"), f"{cores} cores is below {why}: {need.cores} cores",
                            f"give the node at least {need.cores} cores, or lower bluemind.users")
    if ram < need.ram_gb:
        raise SettingsError(o.key("ram_gb"), f"{ram} GB RAM is below {why}: {need.ram_gb} GB",
                            f"give the node at least {need.ram_gb} GB, or lower bluemind.users")
    return cores, ram


def _storage(config: Mapping[str, Any], bm: BlueMind, host_kind: str) -> Storage:
    o = _top(config, "storage", ("kind", "target_iqn", "portal", "portal_port", "host", "fstype", "chap_username",
                                 "lun_sizes_gb", "lun_numbers", "extra_directories"))
    kind = o.get("kind")
    if isinstance(kind, str) and kind.lower().startswith("nfs"):
        raise SettingsError(o.key("kind"), f"NFS is refused ({SEED_NO_NFS})",
                            "use kind: tgt (an iSCSI target on a storage host) or kind: external (an existing iSCSI SAN)")
    kind = o.choice("kind", ("tgt", "external"))
    fstype = o.text("fstype", "xfs", "xfs")
    if fstype.lower().startswith("nfs"):
        raise SettingsError(o.key("fstype"), f"NFS is refused ({SEED_NO_NFS})", "use fstype: xfs or ext4")
    if fstype not in ("xfs", "ext4"):
        raise SettingsError(o.key("fstype"), f"must be xfs or ext4, got {fstype!r}", "set fstype: xfs")
    target_iqn = o.text("target_iqn", "iqn.2026-11.com.example:bluemind-data")
    if not IQN.match(target_iqn) or ":" not in target_iqn:
        raise SettingsError(o.key("target_iqn"), f"{target_iqn!r} is not an iSCSI qualified name",
                            "use the form iqn.YYYY-MM.reversed.domain:name")
    host = None
    if kind == "tgt":
        h = o.obj("host", ("name", "ip", "ssh_user", "cores", "ram_gb", "volume_group", "physical_device"))
        host = StorageHost(name=h.text("name", "bm-storage"), ip=h.ip("ip", "192.168.150.20"),
                           ssh_user=h.text("ssh_user", "root", "root"), cores=h.integer("cores", 2, 1, 1024),
                           ram_gb=h.integer("ram_gb", 4, 1, 65536),
                           volume_group=h.text("volume_group", "bluemind-luns", "bluemind-luns"),
                           physical_device=h.text("physical_device", "/dev/vdb", "/dev/vdb"))
        portal_ip = host.ip
    else:
        if o.get("host") is not None:
            raise SettingsError(o.key("host"), "an external SAN has no storage host to configure",
                                "remove storage.host, or use kind: tgt")
        portal_ip = o.ip("portal", "192.168.150.20")
    extra = o.strings("extra_directories")
    for d in extra:
        if not ABSOLUTE_PATH.match(d):
            raise SettingsError(o.key("extra_directories"), f"{d!r} is not an absolute path", "list paths like /var/spool/bm-filehosting")
    directories = sizing.shared_directories(bm.major) + tuple(d for d in extra if d not in sizing.shared_directories(bm.major))
    minimum = sizing.lun_minimums(directories, bm.users, bm.mailbox_quota_gb)
    sizes = _lun_sizes(o, directories, minimum)
    numbers = _lun_numbers(o, directories, kind)
    luns = tuple(Lun(directory=d, number=numbers[d], size_gb=sizes[d]) for d in directories)
    return Storage(kind=kind, target_iqn=target_iqn, portal_ip=portal_ip, portal_port=o.integer("portal_port", 3260, 1, 65535),
                   host=host, fstype=fstype, chap_username=o.text("chap_username", "bluemind", "bluemind"), luns=luns)


def _lun_sizes(o: _Obj, directories: tuple[str, ...], minimum: dict[str, int]) -> dict[str, int]:
    overrides = o.get("lun_sizes_gb", {})
    if not isinstance(overrides, Mapping):
        raise SettingsError(o.key("lun_sizes_gb"), "must map a directory to a size in GB", 'set it like "/var/spool/cyrus": 500')
    sizes = dict(minimum)
    for directory, size in overrides.items():
        key = f"{o.key('lun_sizes_gb')}.{directory}"
        if directory not in minimum:
            raise SettingsError(key, "is not one of the shared directories", f"use one of: {', '.join(directories)}")
        if isinstance(size, bool) or not isinstance(size, int) or size < minimum[directory]:
            raise SettingsError(key, f"{size!r} GB is below the {minimum[directory]} GB derived from users x mailbox quota",
                                f"set at least {minimum[directory]}, or lower bluemind.users / mailbox_quota_gb")
        sizes[directory] = size
    return sizes


def _lun_numbers(o: _Obj, directories: tuple[str, ...], kind: str) -> dict[str, int]:
    """Our own tgt target numbers LUNs from 1 in directory order (LUN 0 is tgt's controller). An external SAN
    declares its numbers."""
    raw = o.get("lun_numbers")
    if kind == "tgt":
        if raw is not None:
            raise SettingsError(o.key("lun_numbers"), "is only for an external SAN", "remove it: the tgt target numbers its own LUNs")
        return {d: i + 1 for i, d in enumerate(directories)}
    if not isinstance(raw, Mapping):
        raise SettingsError(o.key("lun_numbers"), "is required for an external SAN",
                            "map each shared directory to its LUN number on the SAN")
    missing = [d for d in directories if d not in raw]
    if missing:
        raise SettingsError(f"{o.key('lun_numbers')}.{missing[0]}", "has no LUN number",
                            "every shared directory needs its own LUN on the SAN (block storage, never NFS)")
    numbers = {d: raw[d] for d in directories}
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in numbers.values()) or len(set(numbers.values())) != len(numbers):
        raise SettingsError(o.key("lun_numbers"), "must give each directory a distinct whole LUN number", "correct the numbers")
    return numbers


def _cluster(config: Mapping[str, Any]) -> ClusterOptions:
    o = _Obj(config.get("cluster") or {}, "cluster", ("name", "token_ms", "stickiness", "migration_threshold",
                                                      "failure_timeout_s", "priority_fencing_delay_s",
                                                      "stonith_timeout_s", "ipmi_cipher", "alert_recipient"))
    options = ClusterOptions(
        name=o.text("name", "bluemind", "bluemind"),
        token_ms=o.integer("token_ms", 5000, 1000, 60000),
        stickiness=o.integer("stickiness", 100, 1, 1_000_000),
        migration_threshold=o.integer("migration_threshold", 3, 1, 100),
        failure_timeout_s=o.integer("failure_timeout_s", 600, 0, 86400),
        priority_fencing_delay_s=o.integer("priority_fencing_delay_s", 15, 0, 600),
        stonith_timeout_s=o.integer("stonith_timeout_s", 90, 10, 3600),
        ipmi_cipher=o.integer("ipmi_cipher", 3, 0, 17),
        alert_recipient=o.get("alert_recipient"),
    )
    if options.ipmi_cipher not in (3, 17):
        raise SettingsError("cluster.ipmi_cipher", f"cipher suite {options.ipmi_cipher} is refused",
                            "use 3 (AES-128, HMAC-SHA1; nearly every IPMI 2.0 BMC) or 17 (SHA-256) if your BMCs "
                            "support it: 0 skips authentication, 1 and 2 do not encrypt")
    if options.stonith_timeout_s <= options.priority_fencing_delay_s:
        raise SettingsError("cluster.stonith_timeout_s", "must exceed cluster.priority_fencing_delay_s",
                            "the fence operation's timeout includes the delay; raise stonith_timeout_s")
    return options


def _sync(config: Mapping[str, Any]) -> Sync:
    o = _Obj(config.get("sync") or {}, "sync", ("extra_paths", "extra_excludes"))
    paths = o.strings("extra_paths")
    for p in paths:
        if not ABSOLUTE_PATH.match(p):
            raise SettingsError("sync.extra_paths", f"{p!r} is not an absolute path", "list absolute paths")
    return Sync(extra_paths=paths, extra_excludes=o.strings("extra_excludes"))


def _check_addresses(network: Network, nodes: tuple[Node, Node], storage: Storage, libvirt: Libvirt | None) -> None:
    vip = ipaddress.IPv4Address(network.vip)
    if vip not in network.subnet or vip in (network.subnet.network_address, network.subnet.broadcast_address):
        raise SettingsError("network.vip", f"{network.vip} is not a host address of network.subnet {network.subnet}",
                            "the floating IP must live in the nodes' subnet, so IPaddr2 can bring it up on either node")
    taken = {network.gateway: "network.gateway", storage.portal_ip: "the storage portal"}
    for i, node in enumerate(nodes):
        taken[node.ip] = f"nodes[{i}].ip"
        if node.bmc:
            taken.setdefault(node.bmc.address, f"nodes[{i}].bmc.address")
    if network.vip in taken:
        raise SettingsError("network.vip", f"{network.vip} is already used by {taken[network.vip]}",
                            "pick a free address of the subnet for the floating IP")
    for i, node in enumerate(nodes):
        if node.bmc and node.bmc.address in (nodes[0].ip, nodes[1].ip):
            raise SettingsError(f"nodes[{i}].bmc.address", "is a cluster node's own address",
                                "a BMC must be reachable when its host is down: use the iDRAC/IPMI address")
    if libvirt:
        if libvirt.hypervisor_address != network.gateway:
            raise SettingsError("hosts.libvirt.hypervisor_address", "must be the lab network's gateway "
                                f"({network.gateway}): libvirt's NAT network gives the hypervisor that address",
                                "set it to network.gateway")
        for i, node in enumerate(nodes):
            if node.bmc and node.bmc.address != libvirt.hypervisor_address:
                raise SettingsError(f"nodes[{i}].bmc.address", "in a libvirt lab VirtualBMC listens on the hypervisor",
                                    f"set it to hosts.libvirt.hypervisor_address ({libvirt.hypervisor_address})")
        ports = [n.bmc.port for n in nodes if n.bmc]
        if len(set(ports)) != len(ports):
            raise SettingsError("nodes[1].bmc.port", "both VirtualBMCs would listen on the same port",
                                "give each node its own bmc.port (6230, 6231)")


def _check_fencing(failover: str, nodes: tuple[Node, Node]) -> None:
    if failover == "automatic":
        for i, node in enumerate(nodes):
            if node.bmc is None:
                raise SettingsError(f"nodes[{i}].bmc", f"automatic failover is refused without IPMI fencing for {node.name} "
                                    f"({SEED_NO_STONITH})",
                                    f"declare nodes[{i}].bmc (address, port, username) and its password secret, or set "
                                    f"{NAMESPACE}:failover to manual")


def _check_manual_mode(failover: str, config: Mapping[str, Any]) -> None:
    cluster = config.get("cluster")
    if failover == "manual" and isinstance(cluster, Mapping) and cluster.get("migration_threshold") is not None:
        raise SettingsError("cluster.migration_threshold", "moves the group after failures, an automatic changeover "
                            f"that failover: manual never makes ({SEED_NO_STONITH})",
                            "remove it (a failing service is restarted in place), or declare IPMI fencing and "
                            "use failover: automatic")


def _check_secrets(nodes: tuple[Node, Node], config: Mapping[str, Any], secret_keys: set[str]) -> None:
    required = ["hacluster_password", "corosync_authkey", "chap_password"]
    required += [n.bmc.password_key for n in nodes if n.bmc]
    hints = {"corosync_authkey": "corosync-keygen -k authkey && base64 -w0 authkey | pulumi config set --secret "
                                 f"{NAMESPACE}:corosync_authkey"}
    for key in required + ["ssh_private_key"]:
        present = config.get(key) not in (None, "")
        fix = hints.get(key, f"pulumi config set --secret {NAMESPACE}:{key} <value>")
        if not present and key != "ssh_private_key":
            raise SettingsError(key, "is missing", fix)
        if present and key not in secret_keys:
            raise SettingsError(key, "is stored in plain text; passwords and keys must be Pulumi secrets",
                                f"{fix}   (this replaces the plain value with an encrypted one)")


def parse_settings(stack: str, config: Mapping[str, Any], secret_keys: set[str] | frozenset[str]) -> Settings:
    """Validate a whole stack's configuration into `Settings`, or raise the first `SettingsError`."""
    known = {"bluemind", "failover", "network", "hosts", "nodes", "storage", "cluster", "sync", "ssh_private_key",
             "hacluster_password", "corosync_authkey", "chap_password"}
    for key in sorted(config):
        if key not in known and not key.startswith("bmc_password_"):
            close = difflib.get_close_matches(key, sorted(known), n=1)
            raise SettingsError(key, "is not a known setting", f"did you mean '{close[0]}'?" if close else "remove it")
    bm = _bluemind(config)
    failover = _Obj({"failover": config.get("failover", "automatic")}, "", ("failover",)).choice("failover", ("automatic", "manual"))
    network = _network(config)
    host_kind, libvirt = _libvirt(config)
    storage = _storage(config, bm, host_kind)
    nodes = _nodes(config, bm, host_kind, network, storage.target_iqn)
    if host_kind == "libvirt" and storage.kind == "external":
        raise SettingsError("storage.kind", "a libvirt lab builds its own storage VM", "use storage.kind: tgt with hosts.kind: libvirt")
    _check_fencing(failover, nodes)
    _check_manual_mode(failover, config)
    _check_addresses(network, nodes, storage, libvirt)
    _check_secrets(nodes, config, set(secret_keys))
    return Settings(stack=stack, bluemind=bm, failover=failover, network=network, host_kind=host_kind, libvirt=libvirt,
                    nodes=nodes, storage=storage, cluster=_cluster(config), sync=_sync(config),
                    ssh_key_secret="ssh_private_key" if config.get("ssh_private_key") else None)
