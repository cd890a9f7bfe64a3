"""The lab's wiring: a hub namespace with a bridge, one namespace per node on a veth "cable" into it.

The node's end of its cable is named like the stack's NIC (`network.nic`, eth0), so IPaddr2 gets the very
interface name production gets. The node's own address is configured by its machine at power-on (lab.machine).
"""
from __future__ import annotations

from lab.layout import BRIDGE, HUB, PREFIX, Layout, NodeLayout
from lab.proc import run


def ip(*args: str, netns: str | None = None, check: bool = True):
    return run(["ip", *(["-n", netns] if netns else []), *args], timeout=10, check=check)


def lab_namespaces() -> list[str]:
    """Namespaces of this lab that exist now, also those of an earlier run that was killed."""
    out = run(["ip", "netns", "list"], timeout=10).stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0].startswith(f"{PREFIX}-")]


def create(layout: Layout) -> None:
    ip("netns", "add", HUB)
    ip("link", "set", "lo", "up", netns=HUB)
    ip("link", "add", BRIDGE, "type", "bridge", netns=HUB)
    # The client speaks from the subnet's gateway address; the BMCs have the addresses the stack gives them.
    for address in [layout.client_address] + [f"{n.node.bmc.address}/{n.prefix}" for n in layout.nodes]:
        ip("addr", "add", address, "dev", BRIDGE, netns=HUB)
    ip("link", "set", BRIDGE, "up", netns=HUB)
    for node in layout.nodes:
        ip("netns", "add", node.netns)
        ip("link", "set", "lo", "up", netns=node.netns)
        ip("link", "add", node.hub_link, "netns", HUB, "type", "veth", "peer", "name", layout.nic, "netns", node.netns)
        ip("link", "set", node.hub_link, "master", BRIDGE, netns=HUB)
        ip("link", "set", node.hub_link, "up", netns=HUB)


def cut(node: NodeLayout) -> None:
    """Unplug the node's cable at the hub: it loses its peer, the client and the BMCs at once."""
    ip("link", "set", node.hub_link, "down", netns=HUB)


def restore(node: NodeLayout) -> None:
    ip("link", "set", node.hub_link, "up", netns=HUB)


def destroy() -> None:
    for name in lab_namespaces():
        ip("netns", "delete", name, check=False)
