"""cluster.qdevice: the arbitrator host, read from its map, and its clashes with the other hosts and addresses."""
from __future__ import annotations

import ipaddress

from components.settings.checks import LAB_RESERVED_NAMES
from components.settings.errors import Problems
from components.settings.model import FailoverMode, HostKind, Network, Node, QDevice, Storage
from components.settings.reader import Obj
from components.settings.sections import SEED_NO_STONITH, host_key

KEY = "cluster.qdevice"
# Why `lms` is refused: for two nodes it decides the same splits as ffsplit (the side that still reaches the
# arbitrator, the tie broken by node id), while its "last man standing" rule is made for larger clusters. One
# algorithm is one behaviour to test in the lab and to explain in the README.
LMS_REFUSED = ("`lms` decides no two-node split better than `ffsplit` (the side that reaches the arbitrator "
               "wins, ties by node id), and bluemind-ha tests and documents one algorithm")


def qdevice(cluster: Obj, host_kind: HostKind | None, mode: FailoverMode | None) -> QDevice | None:
    """The arbitrator of the `cluster` map, or None when it has none (or it was refused: the problems say so)."""
    q = cluster.obj("qdevice", required=False)
    if q is None:
        return None
    if mode == FailoverMode.MANUAL:
        q.fail(KEY, f"gives a lone node quorum, and with failover: manual nothing would fence the other first "
               f"({SEED_NO_STONITH})", "remove cluster.qdevice, or declare IPMI fencing and use failover: automatic")
    if q.raw.get("algorithm") == "lms":
        q.fail(q.key("algorithm"), f"is refused: {LMS_REFUSED}", "remove the key (ffsplit) or set it to ffsplit")
        return None
    key = host_key(q, host_kind, "the arbitrator's")
    device = QDevice(name=q.read("name"), ip=q.read("ip"), ssh_user=q.read("ssh_user"), algorithm=q.read("algorithm"),
                     cores=q.read("cores"), ram_gb=q.read("ram_gb"), ssh_host_key=key)
    return None if q.failed else device


def clashes(p: Problems, device: QDevice, host_kind: HostKind | None, network: Network | None,
            nodes: tuple[Node, Node], storage: Storage | None) -> None:
    """The arbitrator is a third machine: a node, the storage or the VIP cannot be it (its vote would fail with
    the very thing it arbitrates), and its name becomes resource names like any host's."""
    names = {n.name: f"nodes[{i}].name" for i, n in enumerate(nodes)}
    taken = {}
    for i, node in enumerate(nodes):
        taken[node.ip] = f"nodes[{i}].ip"
        if node.link1_ip:
            taken[node.link1_ip] = f"nodes[{i}].link1_ip"
        if node.storage_ip:
            taken[node.storage_ip] = f"nodes[{i}].storage_ip"
        if node.bmc:
            taken.setdefault(node.bmc.address, f"nodes[{i}].bmc.address")
    if storage is not None:
        if storage.host is not None:
            names[storage.host.name] = "storage.host.name"
            taken.setdefault(storage.host.ip, "storage.host.ip")
            if storage.host.storage_ip:
                taken.setdefault(storage.host.storage_ip, "storage.host.storage_ip")
        if storage.portal_ip:
            taken.setdefault(storage.portal_ip, "the storage portal")
    if network is not None:
        taken.setdefault(network.vip, "network.vip")
        taken.setdefault(network.gateway, "network.gateway")
    if device.name in names:
        p.add(f"{KEY}.name", f"is {names[device.name]} ({device.name}): the arbitrator must be a host of its own",
              "give the arbitrator its own name")
    if host_kind == HostKind.LIBVIRT and device.name in LAB_RESERVED_NAMES:
        p.add(f"{KEY}.name", f"{device.name!r} is reserved in a libvirt lab: it is {LAB_RESERVED_NAMES[device.name]}",
              "choose another name")
    if device.ip in taken:
        p.add(f"{KEY}.ip", f"{device.ip} is {taken[device.ip]}: the arbitrator's vote would fail together with what "
              "it arbitrates", "run corosync-qnetd on a third machine, apart from the nodes and the storage")
    elif host_kind == HostKind.LIBVIRT and network is not None and not _host_of(network, device.ip):
        p.add(f"{KEY}.ip", f"{device.ip} is not a host address of network.subnet {network.subnet}",
              "the lab's arbitrator VM lives on the lab network")


def _host_of(network: Network, ip: str) -> bool:
    net = network.subnet
    return ipaddress.IPv4Address(ip) in net and ip not in (str(net.network_address), str(net.broadcast_address))
