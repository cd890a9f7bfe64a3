"""The lab's deviations from what production gets: its services run without systemd, and its client speaks
PostgreSQL to the VIP.

`lab_cib` swaps agents of the group's service members and nothing else:
- PostgreSQL (`ocf:bluemind-ha:service` with unit=postgresql) becomes `ocf:heartbeat:pgsql` on the same data
  directory (the shared LUN);
- every other service member (BlueMind's services and lsyncd: `ocf:bluemind-ha:service` or `systemd:`) becomes
  `ocf:pacemaker:Dummy`: the lab has no BlueMind packages, and Dummy keeps the group's length and order.
Ids, operations (intervals, timeouts), the group order, Filesystem, IPaddr2, fencing, properties and
constraints stay exactly as rendered.

`lab_corosync` is the rendered corosync.conf with millisecond timestamps in its log (`timestamp: hires`
instead of `on`): the lab's timeline (lab.timeline) reads when the token was lost and the membership formed,
and whole seconds are too coarse for phases of 3 to 7 s. Nothing else in the file changes.

`lab_ruleset` is each node's rendered firewall (components/render/firewall.py) with one rule inserted: the lab's
client (on the gateway address) may reach PostgreSQL on the VIP, which production keeps internal.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from components.agents import SERVICE_AGENT_PROVIDER, SERVICE_AGENT_TYPE
from components.render.firewall import TABLE, render_ruleset
from components.services import POSTGRESQL
from components.settings import Node, Settings
from lab.disks import PG_BIN, PG_DATA

PGSQL_PARAMETERS = [
    ("pgctl", str(PG_BIN / "pg_ctl")),
    ("psql", str(PG_BIN / "psql")),
    ("pgdata", PG_DATA),
    ("socketdir", "/run/postgresql"),
    ("logfile", "/var/log/postgresql/postgresql.log"),
]


def _set_agent(primitive: ET.Element, provider: str, agent: str, parameters: list[tuple[str, str]]) -> None:
    rsc = primitive.get("id")
    for old in primitive.findall("instance_attributes"):
        primitive.remove(old)
    for name in ("class", "provider", "type"):  # re-set in this order, the order the renderer writes
        primitive.attrib.pop(name, None)
    primitive.attrib.update({"class": "ocf", "provider": provider, "type": agent})
    if parameters:
        attributes = ET.Element("instance_attributes", id=f"{rsc}-instance_attributes")
        for name, value in parameters:
            ET.SubElement(attributes, "nvpair", id=f"{rsc}-instance_attributes-{name}", name=name, value=value)
        primitive.insert(0, attributes)


def _needs_systemd(primitive: ET.Element) -> bool:
    return primitive.get("class") == "systemd" or (
        (primitive.get("provider"), primitive.get("type")) == (SERVICE_AGENT_PROVIDER, SERVICE_AGENT_TYPE))


def lab_cib(rendered: str) -> str:
    cib = ET.fromstring(rendered)
    for primitive in cib.iter("primitive"):
        if primitive.get("id") == POSTGRESQL.rsc_id:
            _set_agent(primitive, "heartbeat", "pgsql", PGSQL_PARAMETERS)
        elif _needs_systemd(primitive):
            _set_agent(primitive, "pacemaker", "Dummy", [])
    ET.indent(cib, space="  ")
    return ET.tostring(cib, encoding="unicode") + "\n"


COROSYNC_TIMESTAMP = "    timestamp: on\n"
COROSYNC_HIRES = "    timestamp: hires\n"


def lab_corosync(rendered: str) -> str:
    if rendered.count(COROSYNC_TIMESTAMP) != 1:
        raise ValueError(f"the rendered corosync.conf has no single {COROSYNC_TIMESTAMP.strip()!r} line to turn "
                         "into hires (components/render/corosync.py changed: update lab.transform)")
    return rendered.replace(COROSYNC_TIMESTAMP, COROSYNC_HIRES)


def lab_ruleset(s: Settings, node: Node) -> str:
    """The node's rendered ruleset, and the lab client's PostgreSQL on the VIP first in the input chain."""
    return render_ruleset(s, node) + (
        f"insert rule inet {TABLE} input ip saddr {s.network.gateway} ip daddr {s.network.vip} tcp dport "
        f'{POSTGRESQL.probe.port} accept comment "the lab client: PostgreSQL on the VIP"\n')
