"""The optional storage network: iSCSI on a subnet of its own, apart from the clients' (issue 18 item 1).

With `network.storage_subnet`, both nodes have a `storage_ip` there and the portal is there too (tgt: the
storage host's `storage_ip`): the target admits the nodes by those addresses only, and the host firewall lets
iSCSI leave only from them. Without it iSCSI shares the client network; that is accepted (a lab) with a
warning when the portal sits in the client subnet.
"""
from __future__ import annotations

import ipaddress

from components.settings.errors import Problems
from components.settings.model import Network, Node, Storage, StorageKind

WHY = ("on the client network a LAN attacker can sniff the CHAP exchange and crack it offline, impersonate the "
       "target, or alter blocks in transit (README, \"Security model\")")


def _host_address(address: str, subnet: ipaddress.IPv4Network) -> bool:
    ip = ipaddress.IPv4Address(address)
    return ip in subnet and (subnet.prefixlen >= 31 or ip not in (subnet.network_address, subnet.broadcast_address))


def storage_network(p: Problems, network: Network, nodes: tuple[Node, Node], storage: Storage | None) -> None:
    subnet = network.storage_subnet
    if subnet is None:
        for i, node in enumerate(nodes):
            if node.storage_ip:
                p.add(f"nodes[{i}].storage_ip", "a storage address needs network.storage_subnet",
                      "set network.storage_subnet (and storage_ip on both nodes), or remove it")
        if storage is not None and storage.host is not None and storage.host.storage_ip:
            p.add("storage.host.storage_ip", "a storage address needs network.storage_subnet",
                  "set network.storage_subnet, or remove it")
        if storage is not None and ipaddress.IPv4Address(storage.portal_ip) in network.subnet:
            key = "storage.host.ip" if storage.kind == StorageKind.TGT else "storage.portal"
            p.warn(key, f"the iSCSI portal {storage.portal_ip} is in the client subnet {network.subnet}: {WHY}",
                   "put iSCSI on a network of its own: network.storage_subnet, nodes[].storage_ip and the portal "
                   "there")
        return
    for other, label in ((network.subnet, "network.subnet"), (network.link1_subnet, "network.link1_subnet")):
        if other is not None and subnet.overlaps(other):
            p.add("network.storage_subnet", f"{subnet} overlaps {label} {other}: the storage network must be a "
                  "subnet of its own", "use a separate network for iSCSI")
    own = {network.vip: "network.vip", **{n.ip: f"nodes[{i}].ip" for i, n in enumerate(nodes)}}
    for i, node in enumerate(nodes):
        key = f"nodes[{i}].storage_ip"
        if node.storage_ip is None:
            p.add(key, "is required with network.storage_subnet", f"give {node.name} its address on {subnet}")
        elif node.storage_ip in own:
            p.add(key, f"{node.storage_ip} is {own[node.storage_ip]}: the storage address must be the node's own, "
                  "on the storage network", f"use an address of {subnet}")
        elif not _host_address(node.storage_ip, subnet):
            p.add(key, f"{node.storage_ip} is not a host address of network.storage_subnet {subnet}",
                  f"use an address of {subnet}")
    if nodes[0].storage_ip and nodes[0].storage_ip == nodes[1].storage_ip:
        p.add("nodes[1].storage_ip", f"is the same as nodes[0].storage_ip ({nodes[0].storage_ip})",
              "give each node its own storage address")
    if storage is None:
        return
    if storage.kind == StorageKind.TGT and storage.host is not None and storage.host.storage_ip is None:
        p.add("storage.host.storage_ip", "is required with network.storage_subnet: it is the portal",
              f"give the storage host its address on {subnet}")
        return
    key = "storage.host.storage_ip" if storage.kind == StorageKind.TGT else "storage.portal"
    if storage.portal_ip in own or storage.portal_ip in (nodes[0].storage_ip, nodes[1].storage_ip):
        p.add(key, f"{storage.portal_ip} is a node's or the VIP's address", f"use the target's address on {subnet}")
    elif not _host_address(storage.portal_ip, subnet):
        p.add(key, f"the portal {storage.portal_ip} is not on network.storage_subnet {subnet}: the nodes would "
              "reach it through another network", f"use the target's address on {subnet}")
