"""The lab's deviations from what production gets: its services run without systemd, and its client speaks
PostgreSQL to the VIP.

`lab_cib` swaps agents of the group's service members and nothing else:
- PostgreSQL (`ocf:bluemind-ha:service` with unit=postgresql) becomes `ocf:heartbeat:pgsql` on the same data
  directory (the shared LUN);
- every other service member (BlueMind's services and lsyncd: `ocf:bluemind-ha:service` or `systemd:`) becomes
  `ocf:pacemaker:Dummy`: the lab has no BlueMind packages, and Dummy keeps the group's length and order;
- the storage watch (`ocf:bluemind-ha:iscsi_watch`) becomes `ocf:pacemaker:Dummy`: the lab's LUNs are loop
  devices and this kernel has no iSCSI initiator, so there is no session to watch (the agent is proved on its
  own: tests/realtools/test_iscsi_watch_agent.py); its clone and constraints stay, so the lab's real pacemaker
  still starts the group only after, and with, the watch.
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

from components.agents import ISCSI_WATCH_AGENT_TYPE, SERVICE_AGENT_PROVIDER, SERVICE_AGENT_TYPE
from components.render.cib_nvsets import INSTANCE, replace_nvsets, set_id_of
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
    for name in ("class", "provider", "type"):  # re-set in this order, the order the renderer writes
        primitive.attrib.pop(name, None)
    primitive.attrib.update({"class": "ocf", "provider": provider, "type": agent})
    replace_nvsets(primitive, INSTANCE, set_id_of(primitive.get("id"), INSTANCE), parameters)


def _needs_what_the_lab_has_not(primitive: ET.Element) -> bool:
    """systemd (a service member), or an iSCSI session (the storage watch)."""
    return primitive.get("class") == "systemd" or (primitive.get("provider") == SERVICE_AGENT_PROVIDER and
                                                   primitive.get("type") in (SERVICE_AGENT_TYPE, ISCSI_WATCH_AGENT_TYPE))


def lab_cib(rendered: str) -> str:
    cib = ET.fromstring(rendered)
    for primitive in cib.iter("primitive"):
        if primitive.get("id") == POSTGRESQL.rsc_id:
            _set_agent(primitive, "heartbeat", "pgsql", PGSQL_PARAMETERS)
        elif _needs_what_the_lab_has_not(primitive):
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
