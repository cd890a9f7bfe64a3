"""The failover budget: what the rendered corosync.conf and CIB make each phase of a fenced failover take.

Pure: the rendered texts in, one `Item` per phase out (lab.timeline.PHASES names the same phases). A phase
has a `low`..`high` range the configuration imposes (corosync and pacemaker wait that long on purpose) and a
`limit` after which something gives up (pacemaker fails the operation). Phases the configuration does not
time (pacemaker's own decision, the start of each service) have no range: only the lab measures them.

    python -m lab.budget     # the budget of each lab profile (lab.profiles)
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from components.names import GROUP_ID
from components.services import POSTGRESQL

CONSENSUS_FACTOR = 1.2  # corosync.conf(5): consensus defaults to 1.2 x token (two nodes: no token_coefficient)
FENCE_IPMILAN_POWER_WAIT_S = 2  # fence_ipmilan's default power_wait: slept after the off and after the on
UNITS = {"ms": 0.001, "msec": 0.001, "s": 1, "sec": 1, "": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}


@dataclass(frozen=True)
class Item:
    phase: str
    basis: str  # how the numbers follow from the configuration, in its own words
    low: float | None = None
    high: float | None = None
    limit: float | None = None

    def text(self) -> str:
        if self.low is None:
            span = "-"
        elif self.high is None:
            span = f"≥ {self.low:g}"
        elif self.high == self.low:
            span = f"{self.low:g}"
        else:
            span = f"{self.low:g} to {self.high:g}"
        return span if self.limit is None else f"{span} (limit {self.limit:g})"


def seconds(spec: str) -> float:
    """A pacemaker duration ("5s", "2min", "500ms", "60"), in seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", spec)
    if found is None or found[2] not in UNITS:
        raise ValueError(f"not a pacemaker duration: {spec!r}")
    return float(found[1]) * UNITS[found[2]]


def corosync_timings(conf: str) -> tuple[float, float]:
    """(token, consensus) in seconds, from corosync.conf's totem section."""
    totem = re.search(r"^totem\s*\{(.*?)^\}", conf, re.S | re.M)
    if totem is None:
        raise ValueError("corosync.conf has no totem section")
    values = dict(re.findall(r"^\s*(token|consensus):\s*(\d+)\s*$", totem[1], re.M))
    token = int(values.get("token", 1000)) / 1000  # corosync's own default
    consensus = int(values["consensus"]) / 1000 if "consensus" in values else CONSENSUS_FACTOR * token
    return token, consensus


def _property(cib: ET.Element, name: str, default: str) -> str:
    found = cib.find(f".//crm_config//nvpair[@name='{name}']")
    return found.get("value") if found is not None else default


def _params(primitive: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in primitive.findall("instance_attributes/nvpair")}


def _op_seconds(primitive: ET.Element, name: str, attribute: str, default: str) -> float:
    op = primitive.find(f"operations/op[@name='{name}']")
    return seconds(op.get(attribute, default) if op is not None else default)


def budget(corosync_conf: str, cib_xml: str) -> list[Item]:
    """The phases of a fenced failover of the node running the group, as lab.timeline.PHASES names them."""
    token, consensus = corosync_timings(corosync_conf)
    cib = ET.fromstring(cib_xml)
    priority_delay = seconds(_property(cib, "priority-fencing-delay", "0"))
    stonith_timeout = seconds(_property(cib, "stonith-timeout", "60s"))
    fence_devices = [_params(p) for p in cib.iter("primitive") if p.get("class") == "stonith"]
    static_delay = max((seconds(d.get("pcmk_delay_base", "0")) for d in fence_devices), default=0.0)
    power_wait = max((seconds(d.get("power_wait", str(FENCE_IPMILAN_POWER_WAIT_S))) for d in fence_devices),
                     default=float(FENCE_IPMILAN_POWER_WAIT_S))
    group = cib.find(f".//group[@id='{GROUP_ID}']")
    members = group.findall("primitive") if group is not None else []
    ids = [m.get("id") for m in members]
    to_postgresql = members[:ids.index(POSTGRESQL.rsc_id) + 1] if POSTGRESQL.rsc_id in ids else members
    start_limit = sum(_op_seconds(m, "start", "timeout", "20s") for m in to_postgresql)
    return [
        Item("detection", "token + consensus (1.2 x token)", token + consensus, token + consensus),
        Item("decision", "none: pacemaker's controller and scheduler"),
        Item("fence delay", "priority-fencing-delay, + pcmk_delay_base when the primary is fenced",
             priority_delay, priority_delay + static_delay),
        Item("fence action", "fence_ipmilan onoff: 2 x power_wait plus the IPMI calls; the limit is "
             "stonith-timeout (delay included)", 2 * power_wait, None, stonith_timeout),
        Item("to the group start", "none: the fence is recorded, a new transition"),
        Item("group start", "the members one after the other up to PostgreSQL; the limit adds up their start "
             "timeouts", None, None, start_limit),
    ]


def fence_total(items: list[Item]) -> tuple[float, float]:
    """What the configuration alone costs before the group can start: detection, fence delay and action."""
    fixed = [i for i in items if i.low is not None]
    return sum(i.low for i in fixed), sum(i.high if i.high is not None else i.low for i in fixed)


def main() -> None:
    from components.render.cib import render_cib
    from components.render.corosync import render_corosync
    from lab.profiles import PROFILES, profile_settings

    for profile in PROFILES:
        settings = profile_settings(profile)
        items = budget(render_corosync(settings), render_cib(settings))
        print(f"{profile}:")
        for item in items:
            print(f"  {item.phase:20} {item.text():>22}  {item.basis}")
        low, high = fence_total(items)
        print(f"  {'until fenced':20} {f'{low:g} to {high:g}':>22}")


if __name__ == "__main__":
    main()
