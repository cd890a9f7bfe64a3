"""The two cluster nodes: identity, addresses, size, BMC, host key; and what must differ between them."""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from components import sizing
from components.settings.errors import Problems, SettingsError, Skip
from components.settings.model import BlueMind, Bmc, HostKind, Network, Node
from components.settings.reader import Obj, type_name
from components.settings.schema import REQUIRED


def nodes(config: Mapping[str, Any], p: Problems, bm: BlueMind | None, host_kind: HostKind | None,
          storage_iqn: str | None) -> tuple[Node, Node]:
    raw = config.get("nodes")
    if raw is None:
        raise SettingsError("nodes", "is required", "list the two cluster nodes (README, Configuration reference)")
    if not isinstance(raw, list):
        raise SettingsError("nodes", f"expected a list of two maps, got {type_name(raw)}",
                            "write nodes as a YAML list: - name: bm1 ...")
    if len(raw) != 2:
        raise SettingsError("nodes", f"must list exactly two cluster nodes, found {len(raw)}",
                            "declare the active and the passive node; bluemind-ha builds two-node active/passive "
                            "clusters")
    need = sizing.node_size(bm.major, bm.users, bm.profile) if bm else None
    parsed = [p.run(_node, item, i, p, bm, need, host_kind, storage_iqn) for i, item in enumerate(raw)]
    if None in parsed:
        raise Skip()
    return parsed[0], parsed[1]


def _node(item: Any, i: int, p: Problems, bm: BlueMind | None, need: sizing.NodeSize | None,
          host_kind: HostKind | None, storage_iqn: str | None) -> Node:
    o = Obj(item, f"nodes[{i}]", "nodes[]", p)
    name = o.read("name")
    existing = host_kind == HostKind.EXISTING
    sized = need is not None and host_kind == HostKind.LIBVIRT
    cores = o.read("cores", default=need.cores if sized else REQUIRED if existing else None)
    ram = o.read("ram_gb", default=need.ram_gb if sized else REQUIRED if existing else None)
    host_key = o.read("ssh_host_key")
    if existing and host_key is None and not o.failed:
        o.fail(o.key("ssh_host_key"), "is required for an existing host: every SSH connection pins it",
               "set it to the host's /etc/ssh/ssh_host_ed25519_key.pub line (ssh-keyscan -t ed25519 <ip>, checked "
               "out of band)")
    if host_kind == HostKind.LIBVIRT and host_key is not None:
        o.fail(o.key("ssh_host_key"), "is only for existing hosts: the program generates a VM's host key",
               "remove it")
    bmc = None
    b = o.obj("bmc", required=False)
    if b is not None:
        address, port, username = b.read("address"), b.read("port"), b.read("username")
        if not b.failed and name:
            bmc = Bmc(address=address, port=port, username=username,
                      password_key=f"bmc_password_{name.replace('-', '_')}")
    default_iqn = f"{storage_iqn.split(':')[0]}:{name}" if storage_iqn and name else None
    node = dict(name=name, node_id=o.read("id"), ip=o.read("ip"), link1_ip=o.read("link1_ip"),
                ssh_user=o.read("ssh_user"), cores=cores, ram_gb=ram, iqn=o.read("iqn", default=default_iqn),
                bmc=bmc, ssh_host_key=host_key, rename_host=o.read("rename_host"),
                generation=o.read("generation"), storage_ip=o.read("storage_ip"))
    o.done()
    if need is not None and bm is not None and cores is not None and ram is not None:
        why = f"BlueMind {bm.major}.x sizing for {bm.users} users with profile {bm.profile} ({need.units} units)"
        if cores < need.cores:
            o.fail(o.key("cores"), f"{cores} cores is below {why}: {need.cores} cores",
                   f"give the node at least {need.cores} cores, or lower bluemind.users")
        if ram < need.ram_gb:
            o.fail(o.key("ram_gb"), f"{ram} GB RAM is below {why}: {need.ram_gb} GB",
                   f"give the node at least {need.ram_gb} GB, or lower bluemind.users")
    o.done()
    if node["cores"] is None or node["ram_gb"] is None or node["iqn"] is None:
        raise Skip()
    return Node(**node)


def pair_checks(nodes: tuple[Node, Node], network: Network | None) -> None:
    """Everything that must differ between the nodes, and their addresses in the network."""
    errors: list[SettingsError] = []
    for attr, label in (("name", "name"), ("node_id", "id"), ("ip", "ip"), ("iqn", "iqn")):
        if getattr(nodes[0], attr) == getattr(nodes[1], attr):
            errors.append(SettingsError(f"nodes[1].{label}", f"is the same as nodes[0].{label} "
                                        f"({getattr(nodes[0], attr)})", f"give each node its own {label}"))
    if nodes[0].link1_ip and nodes[0].link1_ip == nodes[1].link1_ip:
        errors.append(SettingsError("nodes[1].link1_ip", f"is the same as nodes[0].link1_ip ({nodes[0].link1_ip})",
                                    "give each node its own second-link address"))
    a, b = nodes[0].bmc, nodes[1].bmc
    if a and b and (a.address, a.port) == (b.address, b.port):
        errors.append(SettingsError("nodes[1].bmc", f"is the same BMC as nodes[0].bmc ({a.address}:{a.port}): "
                                    "fencing one node would power off the other", "give each node its own BMC"))
    if nodes[0].ram_gb != nodes[1].ram_gb:
        errors.append(SettingsError(
            "nodes[1].ram_gb", f"differs from nodes[0].ram_gb ({nodes[1].ram_gb} vs {nodes[0].ram_gb} GB)",
            "give both nodes the same RAM: bm-pimp sizes every JVM heap from the RAM it finds at start, so after a "
            "failover the passive node must behave like the active one"))
    if network is not None:
        net = network.subnet
        for i, node in enumerate(nodes):
            ip = ipaddress.IPv4Address(node.ip)
            if ip not in net:
                errors.append(SettingsError(f"nodes[{i}].ip", f"{node.ip} is outside network.subnet {net}",
                                            "put both nodes in the cluster subnet, or correct network.subnet"))
            elif ip in (net.network_address, net.broadcast_address):
                errors.append(SettingsError(f"nodes[{i}].ip", f"{node.ip} is the network or broadcast address of "
                                            f"{net}", "use a host address of the subnet"))
            elif node.ip == network.gateway:
                errors.append(SettingsError(f"nodes[{i}].ip", f"{node.ip} is network.gateway",
                                            "give the node its own address"))
            if (node.link1_ip is None) != (network.link1_subnet is None):
                errors.append(SettingsError(f"nodes[{i}].link1_ip", "a second corosync link needs "
                                            "network.link1_subnet and a link1_ip on both nodes",
                                            "set all three, or none of them"))
            elif node.link1_ip:
                link = network.link1_subnet
                ip1 = ipaddress.IPv4Address(node.link1_ip)
                if ip1 not in link or ip1 in (link.network_address, link.broadcast_address) and link.prefixlen < 31:
                    errors.append(SettingsError(f"nodes[{i}].link1_ip", f"{node.link1_ip} is not a host address of "
                                                f"network.link1_subnet {link}",
                                                "use an address of the second link's subnet"))
    if errors:
        raise SettingsError.collected(errors)
