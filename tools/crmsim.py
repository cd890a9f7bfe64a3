"""Run pacemaker's own scheduler (`crm_simulate`) on a CIB and read back what it decided, as data.

Everything is read from crm_simulate's machine outputs, never its human text: the transition graph
(`-G`, the exact actions and the inputs each one waits for), the `--output-as=xml` result (the resources'
placement before and after, and the order the simulator executed the graph in) and the resulting CIB (`-O`),
which feeds the next step of a scenario.
"""
from __future__ import annotations

import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from components.render.cib_nvsets import INSTANCE, first_nvset, set_nvpairs

# Every step runs at the same simulated instant: the timestamps written into the status section (and so
# the output) are byte-identical across runs, and a fail count injected by one step has not expired
# (failure-timeout) when the next step reads it.
SIMULATED_NOW = "2026-01-01T00:00:00Z"
TIME_LIMIT_S = 60


class CrmSimulateError(RuntimeError):
    pass


@dataclass(frozen=True)
class Action:
    """One action of a transition graph: a resource operation, a pseudo-action, or a fence (crm_event)."""

    id: str
    kind: str  # rsc_op | pseudo_event | crm_event
    operation: str  # start, stop, monitor, stonith, running, ...
    resource: str | None
    node: str | None  # where it runs; for a fence, the node being fenced
    attributes: Mapping[str, str]


@dataclass(frozen=True)
class Graph:
    """The scheduler's transition graph: the controller runs an action only once all its inputs completed."""

    actions: Mapping[str, Action]
    inputs: Mapping[str, frozenset[str]]

    def ancestors(self, action_id: str) -> frozenset[str]:
        """Every action that must complete before `action_id` may run."""
        seen: set[str] = set()
        todo = list(self.inputs.get(action_id, ()))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.inputs.get(current, ()))
        return frozenset(seen)

    def ops(self, operation: str, resource: str | None = None, node: str | None = None) -> list[Action]:
        return sorted((a for a in self.actions.values() if a.kind == "rsc_op" and a.operation == operation
                       and resource in (None, a.resource) and node in (None, a.node)), key=lambda a: int(a.id))

    def planned_order(self) -> tuple[tuple[str, str, str], ...]:
        """Fences, starts and stops in an order the controller may run them (inputs first; ties by id),
        in the form of Step.executed."""
        waiting = {i: set(self.inputs.get(i, ())) & self.actions.keys() for i in self.actions}
        order = []
        while waiting:
            ready = sorted((i for i, deps in waiting.items() if not deps), key=int)
            if not ready:
                raise CrmSimulateError("the transition graph has a cycle")
            for i in ready:
                del waiting[i]
                for deps in waiting.values():
                    deps.discard(i)
                a = self.actions[i]
                if a.kind == "crm_event" and a.operation == "stonith":
                    order.append(("fence", a.node, a.node))
                elif a.kind == "rsc_op" and a.operation in ("start", "stop"):
                    order.append((a.operation, a.resource, a.node))
        return tuple(order)

    def predicted_placement(self, before: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """Where resources run once this graph has completed: fenced nodes run nothing, stops and starts apply."""
        fenced = {a.node for a in self.fences()}
        placement = {rsc: set(nodes) - fenced for rsc, nodes in before.items()}
        for a in self.ops("stop"):
            placement.get(a.resource, set()).discard(a.node)
        for a in self.ops("start"):
            placement.setdefault(a.resource, set()).add(a.node)
        return {rsc: tuple(sorted(nodes)) for rsc, nodes in placement.items() if nodes}

    def idle(self) -> bool:
        """Nothing to do but cancel recurring monitors. crm_simulate does not record a cancellation in the
        status, so in maintenance mode the scheduler asks for the same cancellations in every transition."""
        return all(a.operation == "cancel" for a in self.actions.values())

    def fences(self) -> list[Action]:
        return sorted((a for a in self.actions.values() if a.kind == "crm_event" and a.operation == "stonith"),
                      key=lambda a: int(a.id))


@dataclass(frozen=True)
class Step:
    """What one crm_simulate run saw and decided. A step that was only scheduled (not simulated) predicts
    `after` and `executed` from its graph."""

    cib: str  # the resulting CIB (-O), input of the next step
    graph: Graph
    before: Mapping[str, tuple[str, ...]]  # resource -> nodes it is active on, before the events
    after: Mapping[str, tuple[str, ...]]  # ... and once the transition has completed
    executed: tuple[tuple[str, str, str], ...]  # (operation, resource or fenced node, node) in execution order


def _parse_graph(text: str) -> Graph:
    root = ET.fromstring(text)
    actions: dict[str, Action] = {}
    inputs: dict[str, frozenset[str]] = {}
    for synapse in root.iter("synapse"):
        element = next(iter(synapse.find("action_set")))
        primitive = element.find("primitive")
        attributes = element.find("attributes")
        action = Action(
            id=element.get("id"), kind=element.tag, operation=element.get("operation"),
            resource=primitive.get("id") if primitive is not None else None,
            node=element.get("on_node"), attributes=dict(attributes.attrib) if attributes is not None else {})
        actions[action.id] = action
        inputs[action.id] = frozenset(t.get("id") for trigger in synapse.iter("trigger") for t in trigger)
    return Graph(actions=actions, inputs=inputs)


def _placement(status: ET.Element | None) -> dict[str, tuple[str, ...]]:
    if status is None:
        return {}
    return {rsc.get("id"): tuple(sorted(n.get("name") for n in rsc.findall("node")))
            for rsc in status.iter("resource") if rsc.get("active") == "true"}


def _executed(result: ET.Element) -> tuple[tuple[str, str, str], ...]:
    transition = result.find("transition")
    if transition is None:
        return ()
    done = []
    for item in transition:
        if item.tag == "rsc_action":
            done.append((item.get("op"), item.get("resource"), item.get("node")))
        elif item.tag == "fencing_action":
            done.append(("fence", item.get("target"), item.get("target")))
    return tuple(done)


def _stamp_feature_set(cib: str) -> str:
    """Give the CIB the feature set of the simulating pacemaker, as the DC stamps a live CIB.

    The rendered CIB carries none (a newer one than the cluster's is refused). Without one the scheduler
    reads fail counts the pre-1.1.17 way (per resource, not per operation) and never sees an injected
    failure count, so migration-threshold would silently never apply in the simulation.
    """
    root = ET.fromstring(cib)
    if root.get("crm_feature_set") is None:
        stamped = next((op.get("crm_feature_set") for op in root.iter("lrm_rsc_op") if op.get("crm_feature_set")), None)
        if stamped is None:
            return cib
        root.set("crm_feature_set", stamped)
    return ET.tostring(root, encoding="unicode")


def with_node_attributes(cib: str, attributes: Mapping[str, Mapping[str, str]]) -> str:
    """`cib` with transient node attributes set in its status section, as attrd writes them (crm_simulate
    cannot inject an attribute: a ping result, for example, is written here before the next step)."""
    root = ET.fromstring(cib)
    for node, pairs in attributes.items():
        state = root.find(f"status/node_state[@uname='{node}']")
        if state is None:
            raise CrmSimulateError(f"{node} has no node_state: bring it up first")
        node_id = state.get("id")
        transient = state.find("transient_attributes")
        if transient is None:
            transient = ET.SubElement(state, "transient_attributes", id=node_id)
        set_nvpairs(first_nvset(transient, INSTANCE, f"status-{node_id}"), pairs)
    return ET.tostring(root, encoding="unicode")


def simulate(cib: str, *, quorum: bool, up: Iterable[str] = (), fail: Iterable[str] = (),
             inject: Iterable[str] = (), execute: bool = True) -> Step:
    """One crm_simulate run: bring nodes `up`, `fail` nodes, `inject` operation results (OPSPEC strings),
    with or without quorum, then schedule (and, if `execute`, simulate the transition)."""
    with tempfile.TemporaryDirectory(prefix="crmsim-") as tmp:
        work = Path(tmp)
        (work / "in.xml").write_text(cib)
        command = ["crm_simulate", "--xml-file", str(work / "in.xml"), "--quorum", "1" if quorum else "0",
                   "--set-datetime", SIMULATED_NOW, "--save-graph", str(work / "graph.xml"),
                   "--save-output", str(work / "out.xml"), "--output-as=xml",
                   "--simulate" if execute else "--run"]
        for node in up:
            command += ["--node-up", node]
        for node in fail:
            command += ["--node-fail", node]
        for spec in inject:
            command += ["--op-inject", spec]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=TIME_LIMIT_S)
        if proc.returncode != 0:
            raise CrmSimulateError(f"{' '.join(command)} exited {proc.returncode}: {proc.stderr.strip()}")
        result = ET.fromstring(proc.stdout)
        graph = _parse_graph((work / "graph.xml").read_text())
        out = work / "out.xml"
        next_cib = _stamp_feature_set(out.read_text()) if out.exists() else cib
    before = _placement(result.find("cluster_status"))
    if execute:
        return Step(cib=next_cib, graph=graph, before=before, after=_placement(result.find("revised_cluster_status")),
                    executed=_executed(result))
    return Step(cib=next_cib, graph=graph, before=before, after=graph.predicted_placement(before),
                executed=graph.planned_order())


def run_until_idle(cib: str, *, quorum: bool, up: Iterable[str] = (), fail: Iterable[str] = (),
                   inject: Iterable[str] = (), max_steps: int = 5) -> list[Step]:
    """Apply the events, then keep running transitions (as the controller does) until the scheduler has
    nothing left to do. Returns every step; the last one is idle."""
    steps = [simulate(cib, quorum=quorum, up=up, fail=fail, inject=inject)]
    while not steps[-1].graph.idle():
        if len(steps) > max_steps:
            raise CrmSimulateError(f"the cluster did not settle within {max_steps} transitions")
        # Scheduling alone is several times cheaper than simulating the transition, and usually shows
        # there is nothing left to do.
        planned = simulate(steps[-1].cib, quorum=quorum, execute=False)
        steps.append(planned if planned.graph.idle() else simulate(steps[-1].cib, quorum=quorum))
    return steps


def settle(cib: str, nodes: Iterable[str], quorum: bool = True) -> str:
    """Bring `nodes` online and let the cluster do everything it wants to."""
    return run_until_idle(cib, quorum=quorum, up=nodes)[-1].cib
