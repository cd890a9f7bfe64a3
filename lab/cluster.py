"""What the cluster says about itself (`crm_mon --output-as=xml`, asked inside a running node)."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from components.names import GROUP_ID
from lab.nodes import NodeHandle
from lab.proc import CommandFailed


@dataclass(frozen=True)
class ClusterState:
    online: frozenset[str]
    group_nodes: frozenset[str]  # nodes running any member of the group
    group_complete: bool  # every member started, on one node, none failed
    # Every resource started, none failed: the group, both fence devices and the ping clone's instance on each
    # node. A node counts as online before its ping instance starts; a fault then makes the survivor start
    # it in the failover's own transition, ahead of the group (measured: 4 s more under load throttling).
    all_started: bool = True

    def healthy(self, all_nodes: set[str]) -> bool:
        return (self.online == all_nodes and self.group_complete and len(self.group_nodes) == 1
                and self.all_started)


def _started(resources: list[ET.Element]) -> bool:
    return bool(resources) and all(r.get("role") == "Started" and r.get("failed") == "false" for r in resources)


def parse_state(xml: str) -> ClusterState | None:
    """`crm_mon -1 --output-as=xml --inactive` (stopped resources listed too); None without a DC."""
    root = ET.fromstring(xml)
    if root.find("summary/current_dc[@present='true']") is None:
        return None
    online = frozenset(n.get("name") for n in root.iter("node") if n.get("online") == "true" and n.get("id"))
    group = root.find(f"resources/group[@id='{GROUP_ID}']")
    members = list(group.iter("resource")) if group is not None else []
    where = frozenset(n.get("name") for r in members for n in r.iter("node"))
    resources = root.find("resources")
    return ClusterState(online, where, _started(members),
                        _started(list(resources.iter("resource")) if resources is not None else []))


def state(handles: list[NodeHandle]) -> ClusterState | None:
    """The cluster's view from the first node that answers; None if none does (all down or starting)."""
    for handle in handles:
        try:
            xml = handle.inside(["crm_mon", "-1", "--output-as=xml", "--inactive"], timeout=10).stdout
        except (CommandFailed, OSError):
            continue
        found = parse_state(xml)
        if found is not None:
            return found
    return None


def wait_healthy(handles: list[NodeHandle], timeout: float) -> ClusterState | None:
    """Both nodes online and the whole group started on one of them; None if that did not happen in time."""
    names = {h.name for h in handles}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = state(handles)
        if current is not None and current.healthy(names):
            return current
        time.sleep(1)
    return None
