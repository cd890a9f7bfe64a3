"""The table of bad stacks for tests/test_settings_refusals.py: each a committed stack with one mistake an admin
plausibly makes, and the key path (or file and line) its refusal must name."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NS = "bluemind-ha:"
PRIVATE_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
               "-----END OPENSSH PRIVATE KEY-----\n")
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIrnHQO2IXnxEbg3tlIhOO83k6+ojnW9jNaY3uDTnX4T root@x"
ED25519_BLOB = ED25519.split()[1]
# A throwaway ed25519 key made for these tests only (`gpg --quick-gen-key`, then `gpg --armor --export`); its
# secret part was never kept. Stands in for BlueMind's repository key, which the shipped stacks cannot carry.
PGP_PUBLIC_KEY = """\
-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEaw5ddRYJKwYBBAHaRw8BAQdA1JgRWwGoBrZacY4XWSWAWyMTWD6nNSDCyZAJ
85gMD0a0SGJsdWVtaW5kLWhhIHRlc3QgcmVwb3NpdG9yeSBrZXkgKHRlc3RzIG9u
bHkpIDx0ZXN0c0BibHVlbWluZC1oYS5pbnZhbGlkPoiQBBMWCAA4FiEEwWznK9vp
n4FUp5Uuxp3SZViNbQQFAmsOXXUCGwMFCwkIBwIGFQoJCAsCBBYCAwECHgECF4AA
CgkQxp3SZViNbQSFpQD8CuC906NLLpvgLJd2JB6r5bopUb8POl+Pq5OmwrPw/YoA
+wVigPegDHqNJoik+PSpePDK9dUwAmFK5UFMmSOGy0gP
=etW1
-----END PGP PUBLIC KEY BLOCK-----
"""
# The same body with its first packet turned into a secret-key packet (tag 5), checksum recomputed.
PGP_SECRET_PACKET = """\
-----BEGIN PGP PUBLIC KEY BLOCK-----

lDMEaw5ddRYJKwYBBAHaRw8BAQdA1JgRWwGoBrZacY4XWSWAWyMTWD6nNSDCyZAJ
85gMD0a0SGJsdWVtaW5kLWhhIHRlc3QgcmVwb3NpdG9yeSBrZXkgKHRlc3RzIG9u
bHkpIDx0ZXN0c0BibHVlbWluZC1oYS5pbnZhbGlkPoiQBBMWCAA4FiEEwWznK9vp
n4FUp5Uuxp3SZViNbQQFAmsOXXUCGwMFCwkIBwIGFQoJCAsCBBYCAwECHgECF4AA
CgkQxp3SZViNbQSFpQD8CuC906NLLpvgLJd2JB6r5bopUb8POl+Pq5OmwrPw/YoA
+wVigPegDHqNJoik+PSpePDK9dUwAmFK5UFMmSOGy0gP
=vhIj
-----END PGP PUBLIC KEY BLOCK-----
"""
PGP_PRIVATE_BLOCK = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlFgEaw5ddRYJKwYBBAHaRw8BAQdA\n-----END PGP PRIVATE KEY BLOCK-----\n"


@dataclass(frozen=True)
class Case:
    id: str
    stack: str
    edit: Callable[[Any], Any]  # on the parsed file (a dict), or on its text when `raw`
    key: str                    # what the message must name
    raw: bool = False


def _parts(path: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


def _walk(config: dict, path: str, create: bool = False) -> tuple[Any, Any]:
    parts = _parts(path)
    parts[0] = NS + parts[0]
    node = config
    for part in parts[:-1]:
        if create and isinstance(part, str) and part not in node:
            node[part] = {}
        node = node[part]
    return node, parts[-1]


def setting(path: str, value: Any, stack: str = "dev", key: str | None = None, id: str | None = None) -> Case:
    def edit(data: dict) -> dict:
        node, last = _walk(data["config"], path, create=True)
        node[last] = value
        return data
    return Case(id or f"{stack}:{path}={value!r}"[:90], stack, edit, key or path)


def delete(path: str, stack: str = "dev", key: str | None = None) -> Case:
    def edit(data: dict) -> dict:
        node, last = _walk(data["config"], path)
        del node[last]
        return data
    return Case(f"{stack}:del {path}", stack, edit, key or path)


def edits(id: str, stack: str, key: str, *changes: tuple[str, Any]) -> Case:
    def edit(data: dict) -> dict:
        for path, value in changes:
            node, last = _walk(data["config"], path, create=True)
            if value is DELETE:
                del node[last]
            else:
                node[last] = value
        return data
    return Case(id, stack, edit, key)


def text(id: str, stack: str, change: Callable[[str], str], key: str) -> Case:
    return Case(id, stack, change, key, raw=True)


DELETE = object()
FILE = "Pulumi.test.yaml"

STACK_FILE_CASES = [
    text("duplicate-top-key", "dev", lambda t: t + "  bluemind-ha:failover: manual\n", f"{FILE}:"),
    text("duplicate-nested-key", "dev", lambda t: t.replace("    vip: 192.168.150.100\n",
                                                            "    vip: 192.168.150.100\n    vip: 192.168.150.101\n"),
         "given twice"),
    text("duplicate-config", "dev", lambda t: t + "config:\n  bluemind-ha:failover: manual\n", "given twice"),
    text("tab-indent", "dev", lambda t: t.replace("    vip:", "\tvip:"), f"{FILE}:"),
    text("syntax-error", "dev", lambda t: t.replace("    vip: 192.168.150.100", "    vip: [192.168.150.100"),
         f"{FILE}:"),
    text("unclosed-quote", "dev", lambda t: t.replace('"4.9.3"', '"4.9.3'), f"{FILE}:"),
    text("no-config", "dev", lambda t: "bluemind-ha:failover: manual\n", "no `config:` mapping"),
    text("config-list", "dev", lambda t: "config:\n  - bluemind-ha:failover\n", "no `config:` mapping"),
    text("empty-file", "dev", lambda t: "", "no `config:` mapping"),
    text("near-miss-underscore", "dev", lambda t: t + "  bluemind_ha:chap_password: x\n", "bluemind-ha:chap_password"),
    text("near-miss-squashed", "dev", lambda t: t + "  bluemindha:failover: manual\n", "bluemind-ha:failover"),
    text("near-miss-case", "dev", lambda t: t + "  BlueMind-HA:failover: manual\n", "bluemind-ha:failover"),
    text("near-miss-typo", "dev", lambda t: t + "  bluemnd-ha:failover: manual\n", "bluemind-ha:failover"),
    text("no-namespace", "dev", lambda t: t + "  failover: manual\n", "bluemind-ha:failover"),
    text("secure-with-extra", "dev", lambda t: t + "  bluemind-ha:chap_password:\n    secure: v1:abc\n    x: 1\n",
         "bluemind-ha:chap_password"),
    text("plain-secret", "dev", lambda t: t + "  bluemind-ha:chap_password: hunter2hunter2\n",
         "bluemind-ha:chap_password"),
    text("plain-bmc-password", "prod", lambda t: t + "  bluemind-ha:bmc_password_bm_prod_a: hunter2\n",
         "bluemind-ha:bmc_password_bm_prod_a"),
    text("plain-subscription-url", "prod",
         lambda t: t + "  bluemind-ha:subscription_url: https://pkg.bluemind.net/x/0123456789abcdef0123\n",
         "bluemind-ha:subscription_url"),
    text("unquoted-version", "dev", lambda t: t.replace('version: "4.9.3"', "version: 5.10"), "bluemind.version"),
]

GRAMMAR_CASES = [
    *(setting("nodes[0].name", v, id=f"node-name-{i}") for i, v in enumerate(
        ["bm1-", "bm1\n", "BM1", "1bm", "bm_1", "b" * 64, "bm 1", "bm1.example.com", 5])),
    *(setting("storage.host.name", v, id=f"storage-name-{i}") for i, v in enumerate(["bm-storage-", "bm storage"])),
    *(setting("bluemind.url", v, id=f"url-{i}") for i, v in enumerate(
        ["https://mail.example.com", "mail.example.com/webmail", "mail.example.com:443", "mail example.com", "mail",
         "mail.example.com\n", "mail..example.com"])),
    *(setting("bluemind.apt_repository", v, id=f"apt-{i}") for i, v in enumerate(
        ["http://pkg.bluemind.net/bm/4.9/bookworm", "[trusted=yes] https://pkg.bluemind.net/bm",
         "https://pkg.bluemind.net/bm trusted=yes", "https://pkg.bluemind.net/bm/4.9/bookworm/0123456789abcdef0123",
         "https://pkg.bluemind.net/bm/4.9/bookworm/YOUR-SUBSCRIPTION-ID", "https://pkg.bluemind.net/bm?x=1",
         "ftp://pkg.bluemind.net/bm", "https://pkg.bluemind.net/bm\n",
         "https://pkg.bluemind.net/a1b2c3d4-e5f6-a7b8-c9d0-e1f2a3b4c5d6/bm"])),
    *(setting("network.nic", v, id=f"nic-{i}") for i, v in enumerate(["eth0\n", "e" * 16, "eth 0", "eth0/1", ".."])),
    *(setting("nodes[0].ssh_user", v, stack="prod", id=f"ssh-user-{i}") for i, v in enumerate(
        ["Root", "root\n", "ro ot", "1root", "u" * 33, "root;id"])),
    setting("hosts.libvirt.hypervisor_ssh_user", "root; reboot"),
    setting("storage.host.ssh_user", "bad user"),
    *(setting("nodes[0].bmc.username", v, id=f"bmc-user-{i}") for i, v in enumerate(
        ["a" * 17, "ad min", "admin\n", "admín", ""])),
    *(setting("cluster.name", v, id=f"cluster-name-{i}") for i, v in enumerate(
        ["blue mind", "bluemind\n", "-bluemind", "c" * 33])),
    *(setting("cluster.alert_recipient", v, stack="prod", id=f"alert-{i}") for i, v in enumerate(
        ["oncall", "oncall@", "oncall@example.com\n", ["a@example.com", "bad"], ["a@example.com", "a@example.com"],
         [], 5])),
    *(setting("storage.chap_username", v, id=f"chap-user-{i}") for i, v in enumerate(
        ["blue mind", "bluemind\nincominguser x y", "c" * 65])),
    *(setting("storage.host.volume_group", v, id=f"vg-{i}") for i, v in enumerate(["-vg", "vg name", ".."])),
    *(setting("storage.host.physical_device", v, id=f"device-{i}") for i, v in enumerate(
        ["/dev/../etc/passwd", "vdb", "/dev/vdb\n", "/tmp/disk"])),
    setting("hosts.libvirt.network_name", "bluemind ha"),
    setting("hosts.libvirt.pool", "my pool"),
    *(setting("hosts.libvirt.uri", v, id=f"uri-{i}") for i, v in enumerate(
        ["qemu:///system\n", "http://hypervisor/", "qemu:///system; rm -rf /"])),
    *(setting("hosts.libvirt.image_url", v, id=f"image-{i}") for i, v in enumerate(["file:///x.qcow2", "https://x y"])),
    *(setting("storage.target_iqn", v, id=f"target-iqn-{i}") for i, v in enumerate(
        ["iqn.2026-11.example.lab", "iqn.2026-13.example.lab:x", "iqn.2026-11.example.lab:data\n", "eui.0123456789",
         "IQN.2026-11.example.lab:x"])),
    setting("nodes[0].iqn", "iqn.bad"),
    setting("nodes[0].iqn", "iqn.2026-11.example.lab:bm1\n", id="node-iqn-newline"),
    *(setting("bluemind.version", v, id=f"version-{i}") for i, v in enumerate(
        [5.1, 5, "5", "6.0.0", "5.3.2\n", "v5.3", True])),
    *(setting("bluemind.allow_downgrade", v, id=f"allow-downgrade-{i}") for i, v in enumerate(["yes", "true", 1])),
    *(setting("nodes[1].rename_host", v, stack="prod", id=f"rename-host-{i}") for i, v in enumerate(["yes", 0])),
    *(setting("nodes[1].generation", v, stack="prod", id=f"generation-{i}") for i, v in enumerate(
        [-1, "1", 1.5, True, 1000001])),
    *(setting("storage.maintenance_window", v, id=f"maintenance-window-{i}") for i, v in enumerate(["yes", 1])),
    *(setting("bluemind.apt_signing_key", v, id=f"apt-key-{i}") for i, v in enumerate(
        [PGP_PRIVATE_BLOCK, PGP_SECRET_PACKET, PGP_PUBLIC_KEY.replace("mDMEaw", "mDMEbw"), ED25519,
         PGP_PUBLIC_KEY.replace("-----END PGP PUBLIC KEY BLOCK-----\n", ""), "https://pkg.bluemind.net/key.asc",
         PGP_PUBLIC_KEY + PGP_PUBLIC_KEY, ["a", "b"]])),
]

PATH_CASES = [
    *(setting("sync.extra_paths", [v], stack="prod", key="sync.extra_paths[0]", id=f"sync-path-{i}")
      for i, v in enumerate(["/", "/etc", "/etc/", "/etc/bm/../..", "relative/x", "/var/lib", "/etc//bm", "/etc/./bm",
                             "/etc/bm\n", "/usr/"])),
    setting("sync.extra_paths", ["/etc/bm-x", "/etc/bm-x/"], stack="prod", id="sync-path-twice"),
    setting("sync.extra_paths", "/etc/bm-x", stack="prod", id="sync-path-not-list"),
    setting("sync.extra_excludes", ["relative"], stack="prod", key="sync.extra_excludes[0]"),
    *(setting("storage.extra_directories", [v], key="storage.extra_directories[0]", id=f"extra-dir-{i}")
      for i, v in enumerate(["/", "/var", "/var/spool", "/var/spool/cyrus/sub", "/var/spool/bm-x/../..", "rel",
                             "/var/spool/bm/docs", "/var/lib", "/var/spool/bm-x\n"])),
    setting("storage.extra_directories", ["/var/spool/bm-x", "/var/spool/bm-x/"], key="storage.extra_directories[1]",
            id="extra-dir-twice"),
    setting("storage.lun_sizes_gb", {"/var/spool/cyrus/": 1}, stack="prod", key="storage.lun_sizes_gb./var/spool/cyrus/",
            id="lun-size-trailing-slash-too-small"),
    setting("storage.lun_sizes_gb", {"/var/spool/nothere": 10}, stack="prod", key="storage.lun_sizes_gb./var/spool/nothere"),
    setting("storage.lun_sizes_gb", {"/var/spool/cyrus": 20000, "/var/spool/cyrus/": 20000}, stack="prod",
            key="a second time", id="lun-size-twice"),
]

CLASH_CASES = [
    setting("nodes[1].bmc.address", "10.30.0.11", stack="prod", key="nodes[1].bmc", id="same-bmc-prod"),
    setting("nodes[1].bmc.address", "10.99.0.201", stack="lab", key="nodes[1].bmc", id="same-bmc-lab"),
    setting("nodes[1].bmc.port", 6230, key="nodes[1].bmc", id="same-vbmc"),
    setting("nodes[1].iqn", "iqn.2026-11.example.lab:bm1", key="nodes[1].iqn", id="same-iqn"),
    setting("nodes[0].iqn", "iqn.2026-11.example.lab:bluemind-data", key="nodes[0].iqn", id="iqn-is-target"),
    setting("nodes[1].link1_ip", "10.21.0.1", stack="prod", id="same-link1-ip"),
    setting("nodes[0].ip", "10.20.0.1", stack="prod", id="node-is-gateway"),
    setting("nodes[0].ip", "10.99.0.250", stack="lab", id="node-is-portal"),
    setting("nodes[0].ip", "10.20.0.0", stack="prod", id="node-is-network"),
    setting("nodes[0].ip", "10.20.0.255", stack="prod", id="node-is-broadcast"),
    setting("nodes[0].ip", "10.21.0.5", stack="prod", id="node-outside-subnet"),
    setting("storage.host.ip", "192.168.150.11", id="storage-ip-is-node"),
    setting("storage.host.name", "bm1", id="storage-name-is-node"),
    setting("storage.host.ip", "10.0.0.5", id="storage-outside-lab-subnet"),
    setting("network.vip", "10.20.0.2", stack="prod", id="vip-is-dns"),
    setting("network.vip", "10.20.0.0", stack="prod", id="vip-is-network"),
    setting("network.vip", "10.20.0.255", stack="prod", id="vip-is-broadcast"),
    setting("network.vip", "10.20.0.11", stack="prod", id="vip-is-node"),
    setting("network.vip", "10.20.0.1", stack="prod", id="vip-is-gateway"),
    setting("network.vip", "10.99.0.250", stack="lab", id="vip-is-portal"),
    setting("network.vip", "192.168.150.20", id="vip-is-storage-host"),
    setting("network.vip", "10.0.0.5", id="vip-outside"),
    setting("network.gateway", "10.0.0.1", stack="prod", id="gateway-outside"),
    setting("network.gateway", "10.20.0.0", stack="prod", id="gateway-is-network"),
    setting("nodes[0].link1_ip", "10.22.0.1", stack="prod", id="link1-outside"),
    setting("network.link1_subnet", "10.20.0.0/16", stack="prod", key="network.link1_subnet", id="link1-overlaps"),
    setting("network.link1_subnet", "10.20.0.0/24", stack="prod", key="network.link1_subnet", id="link1-same"),
    setting("network.dns", ["10.20.0.2", "10.20.0.2"], stack="prod", id="dns-twice"),
    setting("hosts.libvirt.hypervisor_address", "192.168.150.2", id="hypervisor-not-gateway"),
    setting("nodes[0].bmc.address", "10.20.0.12", stack="prod", id="bmc-is-node"),
    setting("nodes[0].bmc.address", "192.168.150.30", id="lab-bmc-not-hypervisor"),
    setting("nodes[0].name", "hypervisor", id="node-named-hypervisor"),
    setting("nodes[0].name", "install", id="node-named-install"),
    setting("storage.host.name", "hypervisor", id="storage-named-hypervisor"),
    setting("nodes[1].name", "bm1", id="same-name"),
    setting("nodes[1].id", 1, id="same-id"),
    setting("nodes[1].ip", "192.168.150.11", id="same-ip"),
]

NUMBER_CASES = [
    *(setting("bluemind.users", v, id=f"users-{i}") for i, v in enumerate(
        [float("inf"), float("nan"), 10.5, "100", True, 0, -1, 2_000_000, 100.0])),
    *(setting("bluemind.mailbox_quota_gb", v, id=f"quota-{i}") for i, v in enumerate(
        [float("inf"), float("nan"), 0, -1, "1", 1e9])),
    *(setting("cluster.token_ms", v, id=f"token-{i}") for i, v in enumerate([5000.5, float("inf"), 999, "5000"])),
    setting("nodes[0].cores", 16.5, stack="prod"),
    setting("nodes[0].ram_gb", 64.0, stack="prod"),
    *(setting("nodes[0].bmc.port", v, stack="prod", id=f"bmc-port-{i}") for i, v in enumerate([0, 65536, 623.5])),
    setting("storage.portal_port", 0, stack="prod"),
    setting("hosts.libvirt.root_disk_gb", 10),
    *(setting("nodes[0].id", v, id=f"node-id-{i}") for i, v in enumerate([0, 1.5, 70000])),
    *(setting("storage.lun_numbers./var/spool/cyrus", v, stack="prod", id=f"lun-number-{i}")
      for i, v in enumerate([1.5, -1, 16384, "4"])),
    setting("storage.lun_sizes_gb./var/spool/cyrus", float("inf"), stack="prod"),
    setting("storage.lun_sizes_gb./var/spool/cyrus", 10240.5, stack="prod"),
    setting("cluster.stickiness", 0),
    setting("cluster.migration_threshold", 0),
    setting("cluster.migration_threshold", 101),
    setting("cluster.failure_timeout_s", -1),
    setting("cluster.priority_fencing_delay_s", 601),
    setting("cluster.stonith_timeout_s", 5),
    setting("cluster.ipmi_cipher", 1),
    setting("cluster.ipmi_cipher", 18),
    setting("cluster.ipmi_cipher", 3.0),
    setting("storage.host.cores", 0),
    setting("storage.host.ram_gb", 2.5),
]

TYPE_CASES = [
    setting("network", ["192.168.150.0/24"], id="network-list"),
    setting("bluemind", "5.3.2", id="bluemind-text"),
    setting("nodes", {"name": "bm1"}, id="nodes-map"),
    setting("nodes[0]", "bm1", id="node-text"),
    setting("nodes[0].bmc", ["192.168.150.1"], id="bmc-list"),
    setting("hosts.libvirt", ["qemu:///system"], id="libvirt-list"),
    setting("storage.host", ["bm-storage"], id="storage-host-list"),
    setting("cluster", ["x"], id="cluster-list"),
    setting("firewall", ["10.0.0.0/8"], id="firewall-list"),
    setting("firewall.enabled", "no", stack="prod", id="firewall-enabled-text"),
    setting("firewall.enabled", 0, stack="prod", id="firewall-enabled-number"),
    setting("firewall.admin_networks", [], stack="prod", id="firewall-admin-networks-empty"),
    setting("firewall.admin_networks", "10.0.0.0/8", stack="prod", id="firewall-admin-networks-text"),
    setting("firewall.admin_networks", ["10.0.0.1/8"], stack="prod", key="firewall.admin_networks[0]",
            id="firewall-admin-networks-host-bits"),
    setting("firewall.admin_networks", ["10.0.0.0/8", "10.0.0.0/8"], stack="prod", id="firewall-admin-networks-twice"),
    setting("firewall.output", "none", stack="prod", id="firewall-output-choice"),
    setting("sync", "x", id="sync-text"),
    setting("storage.lun_sizes_gb", [1, 2], stack="prod", id="lun-sizes-list"),
    setting("storage.lun_numbers", [1, 2], stack="prod", id="lun-numbers-list"),
    setting("network.dns", "10.20.0.2", stack="prod", id="dns-text"),
    delete("network.subnet"),
    delete("bluemind.version"),
    delete("bluemind.apt_repository"),
    delete("bluemind", key="bluemind"),
    delete("storage", key="storage"),
    delete("hosts", key="hosts"),
    delete("nodes", key="nodes"),
    delete("nodes[0].ip"),
    delete("nodes[0].bmc.username"),
    delete("nodes[0].cores", stack="prod"),
    delete("storage.target_iqn"),
    delete("storage.portal", stack="prod"),
    delete("hosts.libvirt", key="hosts.libvirt"),
    delete("hosts.libvirt.image_url"),
    setting("network.subnet", "192.168.150.1/24", id="subnet-host-bits"),
    setting("network.subnet", "x", id="subnet-junk"),
    setting("network.vip", "192.168.150.300", id="vip-junk"),
    setting("network.vip", None, key="network.vip", id="vip-null"),
    setting("storage.lun_numbers./var/spool/nothere", 12, stack="prod", id="lun-number-no-lun"),
    setting("storage.lun_numbers", {"/var/spool/cyrus": 1}, id="lun-numbers-tgt"),
    setting("storage.multipath", True, id="multipath-tgt"),
    setting("storage.multipath", True, stack="prod", id="multipath-one-portal"),
    setting("storage.second_portal", "10.21.0.40", stack="prod", id="second-portal-without-multipath"),
    Case("second-portal-is-portal", "prod", lambda data: {**data, "config": {**data["config"], NS + "storage": {
        **data["config"][NS + "storage"], "multipath": True, "second_portal": "10.22.0.40"}}},
        "storage.second_portal"),
    setting("storage.multipath", "yes", stack="prod", id="multipath-not-bool"),
    delete("storage.lun_numbers./var/lib/postgresql", stack="prod"),
    setting("storage.lun_numbers./var/spool/cyrus", 1, stack="prod", key="storage.lun_numbers", id="lun-number-twice"),
    setting("storage.portal", "192.168.150.21", key="storage.portal", id="portal-with-tgt"),
    setting("storage.host", {"name": "san", "ip": "10.20.0.40"}, stack="prod", key="storage.host", id="host-external"),
    setting("storage.kind", "external", key="storage.kind: a libvirt lab builds its own storage VM", id="external-in-lab"),
    setting("storage.kind", "nfs", id="nfs"),
    setting("storage.kind", "NFS4", id="nfs-upper"),
    setting("storage.fstype", "nfs4", id="nfs-fstype"),
    setting("storage.fstype", "btrfs", id="btrfs"),
    setting("failover", "auto", id="failover-auto"),
    setting("failover", True, id="failover-bool"),
    setting("hosts.kind", "vmware", id="hosts-vmware"),
    setting("bluemind.profile", "collaboration-mobile-50g", stack="prod", id="profile-before-5.5"),
    setting("network.vipp", "192.168.150.100", id="misspelt-vip"),
    setting("fallover", "manual", id="misspelt-top"),
    setting("hosts.libvirt", {"uri": "qemu:///system"}, stack="prod", id="libvirt-on-existing"),
    delete("nodes[1].bmc", stack="prod", key="nodes[1].bmc"),
    edits("manual-with-threshold", "dev", "cluster.migration_threshold", ("failover", "manual"),
          ("nodes[0].bmc", DELETE), ("nodes[1].bmc", DELETE), ("cluster.migration_threshold", 3)),
    edits("stonith-timeout-below-delay", "dev", "cluster.stonith_timeout_s", ("cluster.priority_fencing_delay_s", 60),
          ("cluster.stonith_timeout_s", 30)),
    edits("below-sizing", "prod", "nodes[0].ram_gb", ("nodes[0].ram_gb", 32), ("nodes[1].ram_gb", 32)),
    setting("nodes[1].ram_gb", 96, stack="prod", id="unequal-ram"),
    setting("nodes[0].cores", 1, id="vm-below-sizing"),
    Case("three-nodes", "dev", lambda d: (d["config"][NS + "nodes"].append(
        dict(d["config"][NS + "nodes"][1], name="bm3", id=3, ip="192.168.150.13")), d)[1], "nodes"),
    Case("one-node", "dev", lambda d: (d["config"][NS + "nodes"].pop(), d)[1], "nodes"),
    setting("nodes", [], id="no-nodes"),
    delete("nodes[1].link1_ip", stack="prod"),
]

KEY_CASES = [
    setting("hosts.libvirt.ssh_public_key", PRIVATE_KEY, id="private-authorized-key"),
    setting("hosts.libvirt.ssh_public_key", "ssh-ed25519", id="key-no-blob"),
    setting("hosts.libvirt.ssh_public_key", "ssh-dss AAAAB3NzaC1kc3MAAACBAP admin", id="key-dss"),
    setting("hosts.libvirt.ssh_public_key", "ssh-ed25519 not_base64! admin", id="key-not-base64"),
    setting("hosts.libvirt.ssh_public_key", f"ssh-rsa {ED25519_BLOB} admin", id="key-type-mismatch"),
    setting("hosts.libvirt.ssh_public_key", "ssh-ed25519 AAAA admin", id="key-blob-too-short"),
    setting("hosts.libvirt.ssh_public_key", ED25519 + "\n" + ED25519, id="key-two-lines"),
    delete("hosts.libvirt.ssh_public_key"),
    delete("nodes[0].ssh_host_key", stack="prod"),
    setting("nodes[0].ssh_host_key", "", stack="prod", id="host-key-empty"),
    setting("nodes[0].ssh_host_key", PRIVATE_KEY, stack="prod", id="host-key-private"),
    setting("nodes[1].ssh_host_key", f"ecdsa-sha2-nistp256 {ED25519_BLOB}", stack="lab", id="host-key-mismatch"),
    setting("nodes[1].ssh_host_key", ED25519 + "\n", stack="lab", id="host-key-newline"),
    setting("nodes[0].ssh_host_key", ED25519, id="host-key-on-vm"),
    setting("storage.host.ssh_host_key", ED25519, id="storage-host-key-on-vm"),
    delete("hosts.libvirt.hypervisor_host_key"),
    setting("hosts.libvirt.hypervisor_host_key", PRIVATE_KEY, id="hypervisor-key-private"),
    setting("hosts.libvirt.hypervisor_host_key", "AAAAC3NzaC1lZDI1NTE5AAAAIIrnHQO2IXnxEbg3", id="hypervisor-key-no-type"),
    edits("existing-tgt-host-without-key", "prod", "storage.host.ssh_host_key", ("storage.kind", "tgt"),
          ("storage.portal", DELETE), ("storage.lun_numbers", DELETE),
          ("storage.host", {"name": "san", "ip": "10.20.0.40"})),
]


# The storage network (prod has one: 10.22.0.0/24, nodes .11 and .12, the SAN's portal .40).
STORAGE_NETWORK_CASES = [
    setting("network.storage_subnet", "10.20.0.0/16", stack="prod", id="storage-net-overlaps-subnet"),
    setting("network.storage_subnet", "10.21.0.0/29", stack="prod", id="storage-net-overlaps-link1"),
    delete("nodes[1].storage_ip", stack="prod"),
    delete("network.storage_subnet", stack="prod", key="nodes[0].storage_ip"),
    setting("nodes[0].storage_ip", "10.23.0.11", stack="prod", id="storage-ip-outside"),
    setting("nodes[0].storage_ip", "10.22.0.0", stack="prod", id="storage-ip-is-network"),
    setting("nodes[0].storage_ip", "10.20.0.50", stack="prod", id="storage-ip-is-vip"),
    setting("nodes[0].storage_ip", "10.20.0.11", stack="prod", id="storage-ip-is-client-ip"),
    setting("nodes[1].storage_ip", "10.22.0.11", stack="prod", id="same-storage-ip"),
    setting("storage.portal", "10.20.0.40", stack="prod", id="portal-off-storage-net"),
    setting("storage.portal", "10.22.0.12", stack="prod", id="portal-is-storage-ip"),
    setting("storage.chap_mutual_username", "bluemind", stack="prod", id="mutual-user-is-chap-user"),
    edits("tgt-storage-net-without-portal", "dev", "storage.host.storage_ip", ("network.storage_subnet", "10.97.0.0/24"),
          ("nodes[0].storage_ip", "10.97.0.11"), ("nodes[1].storage_ip", "10.97.0.12")),
    setting("storage.host.storage_ip", "10.97.0.20", id="storage-host-ip-without-net"),
]

# The arbitrator's (cluster.qdevice) rows: tests/settings_refusal_qdevice.py (the test adds them).
CASES = STORAGE_NETWORK_CASES + STACK_FILE_CASES + GRAMMAR_CASES + PATH_CASES + CLASH_CASES + NUMBER_CASES + TYPE_CASES + KEY_CASES
