"""The failover matrix's storage-watch scenarios (tools/failover.py plays them): the iSCSI watch clone
(ocf:bluemind-ha:iscsi_watch) fails on the passive node, then on the active node.

On the passive node the failure bans the watch there (its migration-threshold is 1) and mails an alert;
the group, running on the active node, must not move. On the active node a fenced stack hands the group
over (the group is colocated with the watch); a manual stack leaves it where it is (only the admin moves
it)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from tools import crmsim
from tools.failover_model import Model

OCF_ERR_GENERIC = 1  # what the watch's monitor returns when the storage is broken


def outcomes(m: Model, settled_cib: str, active: str, passive: str, outcome: Callable) -> list:
    """`outcome(m, key, when, steps)` is tools/failover.py's reading of a scenario's steps."""
    if m.storage_watch is None:
        return []
    rsc, interval_ms = m.storage_watch
    alert = "; the alert mails the failed monitor" if ET.fromstring(settled_cib).find(".//alerts/alert") is not None else ""
    found = []
    for key, node, role in (("iscsi-watch-passive", passive, "the passive node"),
                            ("iscsi-watch-active", active, "the active node")):
        steps = crmsim.run_until_idle(settled_cib, quorum=True,
                                      inject=[f"{rsc}_monitor_{interval_ms}@{node}={OCF_ERR_GENERIC}"])
        when = (f"the storage watch fails on {node}, {role} (its iSCSI session died, the SAN refused its login, "
                "a LUN is gone)")
        o = outcome(m, key, when, steps)
        stopped_there = any(e == ("stop", rsc, node) for step in steps for e in step.executed)
        first = (f"Stops {rsc} on {node} (banned there until failure-timeout{alert})"
                 if stopped_there else f"Leaves {rsc} failed on {node}")
        found.append(type(o)(**{**o.__dict__, "does": f"{first}, {o.does[0].lower()}{o.does[1:]}"}))
    return found
