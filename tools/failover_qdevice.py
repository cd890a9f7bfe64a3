"""The failover matrix with an arbitrator (cluster.qdevice): who holds quorum decides, not a fence race.

corosync-qnetd's vote is the third of three. With it up, a node that loses its peer but reaches the arbitrator
is quorate (crm_simulate --quorum 1); after a split only the side the arbitrator votes for is (ffsplit; a tie,
both sides reaching it, goes to `tie_breaker`: the primary); the other side holds 1 of 3 votes, inquorate
(--quorum 0): it must fence nobody and start nothing (no-quorum-policy=freeze keeps what it runs until it is
fenced). With the arbitrator down, the two nodes hold 2 of 3 votes: the first failure leaves the survivor
inquorate."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from tools import crmsim
from tools import failover as f
from tools.failover_model import Model


def with_known_nodes(m: Model, cib: str) -> str:
    """`cib` with every node of corosync's nodelist in its nodes section, as pacemaker's controller writes them
    at start (crm_simulate knows only the nodes a CIB names): a node booting alone then sees its peer as
    unclean, which it must fence before it starts anything (startup-fencing)."""
    root = ET.fromstring(cib)
    nodes = root.find("configuration/nodes")
    for i, name in enumerate(m.nodes, 1):
        if nodes.find(f"node[@uname='{name}']") is None:
            ET.SubElement(nodes, "node", id=str(i), uname=name)
    return ET.tostring(root, encoding="unicode")


def _inquorate(m: Model, cib: str, lost: str, key: str, when: str, does: str) -> f.Outcome:
    """What the side without quorum does when it loses `lost`: scheduled only (an inquorate cluster waits for
    quorum, so its graph never goes idle); anything it would fence or start is a breach."""
    step = crmsim.simulate(cib, quorum=False, fail=[lost], execute=False)
    o = f._outcome(m, key, when, [step], lost=[lost])
    fences = tuple(x.node for x in step.graph.fences())
    starts = tuple(f"{a.resource} on {a.node}" for a in step.graph.ops("start"))
    unsafe = o.unsafe + ((f"the inquorate side fences {', '.join(fences)}",) if fences else ()) + (
        (f"the inquorate side starts {', '.join(starts)}",) if starts else ())
    said = does + (". UNSAFE: " + "; ".join(unsafe) if unsafe else "")
    return f.Outcome(**{**o.__dict__, "does": said, "unsafe": unsafe, "fenced": (), "started": ()})


def arbitrated_split(m: Model, active: str, passive: str, active_lost: f.Outcome, passive_lost: f.Outcome,
                     key: str, when: str) -> f.Outcome:
    """Both nodes lose each other but both still reach the arbitrator: ffsplit's tie goes to the primary, which
    keeps quorum and acts on its view; the other side is inquorate (its own row, `split-loser`)."""
    winner = m.nodes[0]
    loser = passive if winner == active else active
    view = passive_lost if winner == active else active_lost
    when = when or f"{active} and {passive} lose each other (network split), both still reach the arbitrator"
    does = (f"The arbitrator's vote goes to {winner} (ffsplit, a tie goes to the primary); {loser}, inquorate, "
            f"fences nobody. {winner}: {view.does[0].lower()}{view.does[1:]}")
    return f.Outcome(**{**view.__dict__, "key": key, "when": when, "does": does})


def jobs(m: Model, settled_cib: str, active: str, passive: str) -> list:
    """The arbitrator's own rows, each a job for run_matrix's pool (none without an arbitrator)."""
    if not m.quorum.device:
        return []
    primary = m.nodes[0]
    other = next(n for n in m.nodes if n != primary)

    def split_loser() -> list[f.Outcome]:
        return [_inquorate(m, settled_cib, primary, "split-loser",
                           f"in a split, {other}, the side without the arbitrator's vote",
                           f"Fences nobody and starts nothing: {other} holds 1 of 3 votes (inquorate) and freezes "
                           f"until {primary} fences it")]

    def arbitrator_down() -> list[f.Outcome]:
        return [
            _inquorate(m, settled_cib, active, "arbitrator-down-active-crash",
                       f"the arbitrator is down, then {active}, the active node, crashes",
                       f"Fences nobody and starts nothing: {passive} holds 1 of 3 votes (inquorate) and freezes; "
                       "BlueMind stays down until the arbitrator is back or an admin takes over (runbook)"),
            _inquorate(m, settled_cib, passive, "arbitrator-down-passive-crash",
                       f"the arbitrator is down, then {passive}, the passive node, crashes",
                       f"Fences nobody: {active}, inquorate (1 of 3 votes), freezes and keeps BlueMind running "
                       "as it is, restarting nothing that fails, until the arbitrator or its peer is back"),
        ]
    return [split_loser, arbitrator_down]
