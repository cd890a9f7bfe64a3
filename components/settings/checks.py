"""Checks across sections: fencing, address clashes, names that would give two resources one URN, secrets."""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from components.settings import schema as sc
from components.settings.errors import NAMESPACE, Problems
from components.settings.model import FailoverMode, HostKind, Libvirt, Network, Node, Storage
from components.settings.sections import SEED_NO_STONITH

# The hypervisor is a host of its own in a libvirt lab (steps `hypervisor-virtualbmc-...`), and its steps are
# `virtualbmc-install` and `virtualbmc-<node>`: a node named `install` would repeat the first.
LAB_RESERVED_NAMES = {"hypervisor": "the lab's hypervisor host", "install": "the hypervisor's virtualbmc-install step"}


def fencing(p: Problems, mode: FailoverMode, nodes: tuple[Node, Node]) -> None:
    if mode != FailoverMode.AUTOMATIC:
        return
    for i, node in enumerate(nodes):
        if node.bmc is None:
            p.add(f"nodes[{i}].bmc", f"automatic failover is refused without IPMI fencing for {node.name} "
                  f"({SEED_NO_STONITH})", f"declare nodes[{i}].bmc (address, port, username) and its password secret, "
                  f"or set {NAMESPACE}:failover to manual")


def ping_targets(p: Problems, targets: tuple[str, ...], network: Network, nodes: tuple[Node, Node]) -> None:
    """A node always reaches itself and the VIP it holds: pinging either proves nothing about the uplink."""
    own = {network.vip: "the VIP (network.vip)", **{n.ip: f"{n.name}'s own address" for n in nodes}}
    for i, target in enumerate(targets):
        if target in own:
            p.add(f"cluster.ping_targets[{i}]", f"{target} is {own[target]}: reaching it says nothing about the "
                  "uplink", "list the gateway or another address beyond the node's own network card")


def names(p: Problems, host_kind: HostKind, nodes: tuple[Node, Node], storage: Storage | None) -> None:
    """Host names become resource names (`<host>-<step>`, the lab's Domains and volumes): a clash would declare two
    resources with one URN, which the engine refuses after half a deployment."""
    if storage is not None and storage.host is not None:
        for i, node in enumerate(nodes):
            if storage.host.name == node.name:
                p.add("storage.host.name", f"is nodes[{i}].name ({node.name}): two hosts (and, in a lab, two VMs) of "
                      "one name", "give the storage host its own name")
            if storage.host.ip == node.ip:
                p.add("storage.host.ip", f"is nodes[{i}].ip ({node.ip})", "give the storage host its own address")
    if host_kind == HostKind.LIBVIRT:
        hosts = [(f"nodes[{i}].name", n.name) for i, n in enumerate(nodes)]
        if storage is not None and storage.host is not None:
            hosts.append(("storage.host.name", storage.host.name))
        for key, name in hosts:
            if name in LAB_RESERVED_NAMES:
                p.add(key, f"{name!r} is reserved in a libvirt lab: it is {LAB_RESERVED_NAMES[name]}, so two "
                      "resources would get the same name", "choose another name")


def addresses(p: Problems, network: Network, nodes: tuple[Node, Node], storage: Storage | None,
              libvirt: Libvirt | None) -> None:
    net = network.subnet
    if len(set(network.dns)) != len(network.dns):
        p.add("network.dns", "names a server twice", "list each name server once")
    if network.link1_subnet is not None and network.link1_subnet.overlaps(net):
        p.add("network.link1_subnet", f"{network.link1_subnet} overlaps network.subnet {net}: the second link "
              "would share the first one's network and fail with it", "use a separate network for the second link")
    special = {str(net.network_address): "the network address", str(net.broadcast_address): "the broadcast address"}
    gateway = ipaddress.IPv4Address(network.gateway)
    if gateway not in net or network.gateway in special:
        p.add("network.gateway", f"{network.gateway} is not a host address of network.subnet {net}",
              "use the subnet's router address")
    vip = ipaddress.IPv4Address(network.vip)
    if vip not in net or network.vip in special:
        p.add("network.vip", f"{network.vip} is not a host address of network.subnet {net}",
              "the floating IP must live in the nodes' subnet, so IPaddr2 can bring it up on either node")
        return
    taken = {network.gateway: "network.gateway"}
    if storage is not None and storage.portal_ip:
        taken.setdefault(storage.portal_ip, "the storage portal")
    for i, node in enumerate(nodes):
        taken[node.ip] = f"nodes[{i}].ip"
        if node.bmc:
            taken.setdefault(node.bmc.address, f"nodes[{i}].bmc.address")
    for server in network.dns:
        taken.setdefault(server, "a DNS server (network.dns)")
    if network.vip in taken:
        p.add("network.vip", f"{network.vip} is already used by {taken[network.vip]}",
              "pick a free address of the subnet for the floating IP")
    for i, node in enumerate(nodes):
        if storage is not None and node.ip == storage.portal_ip and storage.host is None:
            p.add(f"nodes[{i}].ip", f"{node.ip} is the storage portal", "give the node its own address")
        if node.bmc and node.bmc.address in (nodes[0].ip, nodes[1].ip):
            p.add(f"nodes[{i}].bmc.address", "is a cluster node's own address",
                  "a BMC must be reachable when its host is down: use the iDRAC/IPMI address")
    if storage is not None and storage.host is not None and libvirt is not None:
        ip = ipaddress.IPv4Address(storage.host.ip)
        if ip not in net or storage.host.ip in special or storage.host.ip == network.gateway:
            p.add("storage.host.ip", f"{storage.host.ip} is not a free host address of network.subnet {net}",
                  "the lab's storage VM lives on the lab network")
    if libvirt:
        if libvirt.hypervisor_address != network.gateway:
            p.add("hosts.libvirt.hypervisor_address", "must be the lab network's gateway "
                  f"({network.gateway}): libvirt's NAT network gives the hypervisor that address",
                  "set it to network.gateway")
        for i, node in enumerate(nodes):
            if node.bmc and node.bmc.address != libvirt.hypervisor_address:
                p.add(f"nodes[{i}].bmc.address", "in a libvirt lab VirtualBMC listens on the hypervisor",
                      f"set it to hosts.libvirt.hypervisor_address ({libvirt.hypervisor_address})")
        ports = [n.bmc.port for n in nodes if n.bmc]
        if len(set(ports)) != len(ports):
            p.add("nodes[1].bmc.port", "both VirtualBMCs would listen on the same port",
                  "give each node its own bmc.port (6230, 6231)")


def required_secrets(config: Mapping[str, Any]) -> list[str]:
    """The secret keys a stack needs, from its raw config: the fixed ones and one BMC password per `bmc`."""
    required = list(sc.SECRETS)
    nodes = config.get("nodes")
    if isinstance(nodes, list):
        for node in nodes:
            if isinstance(node, Mapping) and node.get("bmc") is not None and isinstance(node.get("name"), str):
                required.append(sc.BMC_PASSWORD_PREFIX + node["name"].replace("-", "_"))
    return required


def secrets(p: Problems, config: Mapping[str, Any], secret_keys: set[str]) -> None:
    hints = {"corosync_authkey": "corosync-keygen -k authkey && base64 -w0 authkey | pulumi config set --secret "
                                 f"{NAMESPACE}:corosync_authkey"}
    required = required_secrets(config)
    for key in required + list(sc.OPTIONAL_SECRETS):
        present = config.get(key) not in (None, "")
        fix = hints.get(key, f"pulumi config set --secret {NAMESPACE}:{key} <value>")
        if not present and key in required:
            p.add(key, "is missing", fix)
        if present and key not in secret_keys:
            p.add(key, "is stored in plain text; passwords and keys must be Pulumi secrets",
                  f"{fix}   (this replaces the plain value with an encrypted one)")


def chap_secrets(values: Mapping[str, str]) -> None:
    """The CHAP secrets' values (`CHAP_SECRETS` key -> value), checked where they are read: length, characters,
    and the two different (RFC 3720 section 8.2.1: a secret used for one direction must not be used for the
    other). Raises one SettingsError naming each bad key; the values are never shown."""
    p = Problems()
    low, high = sc.CHAP_SECRET_LENGTH
    for key in sc.CHAP_SECRETS:
        value = values[key]
        fix = f"pulumi config set --secret {NAMESPACE}:{key} \"$(openssl rand -base64 12)\""
        if not low <= len(value) <= high:
            p.add(key, f"is {len(value)} characters long; a CHAP secret needs {low} to {high} (RFC 3720: at least 96 "
                  f"bits; open-iscsi keeps {high} at most)", fix)
        elif not all("!" <= c <= "~" for c in value):
            p.add(key, "holds a space or a character outside printable ASCII (it would cut tgt's and iscsid.conf's "
                  "lines)", fix)
    if values[sc.CHAP_SECRETS[0]] == values[sc.CHAP_SECRETS[1]]:
        p.add(sc.CHAP_SECRETS[1], f"is the same as {sc.CHAP_SECRETS[0]}: whoever learns one direction's secret "
              "could then answer the other (RFC 3720 section 8.2.1)",
              f"pulumi config set --secret {NAMESPACE}:{sc.CHAP_SECRETS[1]} \"$(openssl rand -base64 12)\"")
    p.raise_if_any()
