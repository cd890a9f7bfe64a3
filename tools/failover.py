"""What the cluster does when something fails, computed by pacemaker's own scheduler on the rendered CIB.

`run_matrix` settles both nodes with `crm_simulate`, then plays each failover scenario from there and
returns, per scenario, the facts read from the scheduler's transition graphs and resulting status (who is
fenced, with which delay, what starts and stops where and in which order, where the group ends up) plus
any breach of the safety rules every scenario must keep:

- the group's members run together on at most one node, and only as a prefix of the group (in order);
- a member starts only after the member before it has started;
- a member starts on a node only after every other copy of the group is gone: stopped, or, when its
  node was lost, only after that node's fence has completed.

Quorum is what the rendered corosync.conf gives: a lone survivor keeps quorum only with `two_node`, and
a node that boots alone has none while `wait_for_all` holds.

tools/failover_model.py reads the rendered configuration; tools/failover_markdown.py turns the matrix into the
admin's table "when X happens -> the cluster does Y".
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from components.names import GROUP_ID
from components.settings import Settings
from tools import crmsim, failover_qdevice, failover_watch
from tools import failover_model as cibs
from tools import failover_words as words
from tools.failover_model import Model, Votequorum, model

CONCURRENCY = 2  # crm_simulate runs at once: the machines this runs on have two cores
OCF_NOT_RUNNING = 7
FAILURES_WITHOUT_THRESHOLD = 10  # a run of failed monitors, for a member that never moves


# ---------------------------------------------------------------------------------------------------
# Facts and safety of a scenario's steps
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    key: str
    when: str
    does: str
    fenced: tuple[tuple[str, float, float], ...]  # (node, earliest, latest s the fence waits), execution order
    started: tuple[tuple[str, str], ...]  # (member, node) in execution order, over all steps
    stopped: tuple[tuple[str, str], ...]
    group_before: tuple[str, ...]  # nodes running any member before the event
    group_after: tuple[str, ...]  # ... and once the cluster is idle again
    running_after: tuple[str, ...]  # members running at the end, in group order
    unsafe: tuple[str, ...]  # breaches of the safety rules (module docstring); empty when safe


@dataclass(frozen=True)
class Matrix:
    stack: str
    active: str
    passive: str
    members: tuple[str, ...]
    quorum: Votequorum
    outcomes: tuple[Outcome, ...]

    def outcome(self, key: str) -> Outcome:
        return next(o for o in self.outcomes if o.key == key)


def _group_nodes(m: Model, placement: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(sorted({n for rsc in m.members for n in placement.get(rsc, ())}))


def _fence_delay(m: Model, fence: crmsim.Action) -> tuple[float, float]:
    """When a scheduled fence is carried out: the scheduler's priority-fencing-delay plus the device's delay."""
    priority = float(fence.attributes.get("CRM_meta_priority_fencing_delay", "0"))
    low, high = m.static_fence_delay_s.get(fence.node, (0.0, 0.0))
    return priority + low, priority + high


def _breaches(m: Model, step: crmsim.Step, lost: frozenset[str]) -> list[str]:
    problems = []
    for rsc in m.members:
        if len(step.after.get(rsc, ())) > 1:
            problems.append(f"{rsc} runs on {' and '.join(step.after[rsc])}")
    nodes = _group_nodes(m, step.after)
    if len(nodes) > 1:
        problems.append(f"the group is split across {' and '.join(nodes)}")
    graph = step.graph
    # What the cluster starts must end up as a prefix of the group. (In maintenance mode a member may fail
    # under running ones: the cluster then rightly starts and stops nothing.)
    started = {a.resource for a in graph.ops("start")}
    for later in (r for r in m.members if r in started and r in step.after):
        gaps = [r for r in m.members[:m.members.index(later)] if r not in step.after]
        if gaps:
            problems.append(f"{later} is started while {gaps[0]}, before it in the group, does not run")
    starts = sorted((a for a in graph.ops("start") if a.resource in m.members), key=lambda a: m.members.index(a.resource))
    for earlier, later in itertools.pairwise(starts):
        if earlier.id not in graph.ancestors(later.id):
            problems.append(f"{later.resource} may start before {earlier.resource}")
    fences = {f.node: f for f in graph.fences()}
    stops = {(a.resource, a.node): a.id for a in graph.ops("stop")}
    for start in starts:
        waits_for = graph.ancestors(start.id)
        for rsc in m.members:
            for node in step.before.get(rsc, ()):
                if node == start.node:
                    continue
                if node in lost:
                    if node not in fences or fences[node].id not in waits_for:
                        problems.append(f"{start.resource} may start on {start.node} before {node} is fenced")
                elif stops.get((rsc, node)) not in waits_for:
                    problems.append(f"{start.resource} may start on {start.node} while {rsc} still runs on {node}")
    return problems


def _outcome(m: Model, key: str, when: str, steps: list[crmsim.Step], lost: Iterable[str] = ()) -> Outcome:
    lost = frozenset(lost)
    fenced, started, stopped, unsafe = [], [], [], []
    for step in steps:
        fences = {f.node: f for f in step.graph.fences()}
        for operation, subject, node in step.executed:
            if operation == "fence":
                fenced.append((subject, *_fence_delay(m, fences[subject])))
            elif operation in ("start", "stop") and subject in m.members:
                (started if operation == "start" else stopped).append((subject, node))
        unsafe += [p for p in _breaches(m, step, lost if step is steps[0] else frozenset()) if p not in unsafe]
    outcome = Outcome(key=key, when=when, does="", fenced=tuple(fenced), started=tuple(started),
                      stopped=tuple(stopped), group_before=_group_nodes(m, steps[0].before),
                      group_after=_group_nodes(m, steps[-1].after),
                      running_after=tuple(r for r in m.members if r in steps[-1].after), unsafe=tuple(unsafe))
    return _described(m, outcome, lost)


# ---------------------------------------------------------------------------------------------------
# Saying what happened, for the admin
# ---------------------------------------------------------------------------------------------------
def _described(m: Model, o: Outcome, lost: frozenset[str]) -> Outcome:
    """The outcome with `does` said from its facts."""
    parts = [words.fence_phrase(*fence) for fence in o.fenced]
    after = o.group_after[0] if o.group_after else None
    started_on_after = [r for r, n in o.started if n == after]
    survivors = [n for n in m.nodes if n not in lost]
    if after is None and lost:
        parts.append(f"starts nothing on {' or '.join(survivors)}: BlueMind stays down until an admin takes over")
    elif not (o.fenced or o.started or o.stopped) and len(o.running_after) < len(m.members):
        parts.append("takes no action: no fence, no stop, no start" if o.group_before
                     else "starts nothing and fences nobody")
    elif after is None:
        parts.append(f"stops the group ({words.span([r for r, _ in o.stopped])}) and starts nothing")
    elif after not in o.group_before and len(o.running_after) == len(m.members) and started_on_after:
        verb = "then starts" if o.fenced else (f"stops the group on {o.group_before[0]}, then starts"
                                               if o.group_before else "starts")
        parts.append(f"{verb} the whole group on {after} in order ({words.span(started_on_after)})")
    elif started_on_after:
        parts.append(f"restarts {words.span(started_on_after)} in place on {after}")
    else:
        parts.append(f"leaves the group running on {after}, untouched")
    does = ", ".join(parts)
    if o.unsafe:
        does += ". UNSAFE: " + "; ".join(o.unsafe)
    return Outcome(**{**o.__dict__, "does": does[0].upper() + does[1:]})


def _prefixed(m: Model, o: Outcome, first: str, unsafe: Iterable[str], lost: Iterable[str] = ()) -> Outcome:
    """`o` with what happened before its steps said first, and more breaches of the safety rules."""
    o = _described(m, Outcome(**{**o.__dict__, "unsafe": o.unsafe + tuple(unsafe)}), frozenset(lost))
    return Outcome(**{**o.__dict__, "does": f"{first} {o.does[0].lower()}{o.does[1:]}"})


# ---------------------------------------------------------------------------------------------------
# The scenarios
# ---------------------------------------------------------------------------------------------------
def _nobody_fenced(o: Outcome, why: str) -> Outcome:
    """`o` (a node was lost, nobody was fenced) said so first."""
    if o.fenced:
        return o
    return Outcome(**{**o.__dict__, "does": f"Fences nobody ({why}), {o.does[0].lower()}{o.does[1:]}"})


def run_matrix(settings: Settings, cib_xml: str, failing_members: Iterable[str] | None = None) -> Matrix:
    """Play every scenario on `cib_xml`. `failing_members`: the members whose monitor failure is simulated
    (default: all of them)."""
    m = model(settings, cib_xml)
    q = m.quorum
    failing = tuple(failing_members) if failing_members is not None else m.members

    def boot_alone() -> list[Outcome]:
        node = m.nodes[0]
        cib = failover_qdevice.with_known_nodes(m, cib_xml) if q.device else cib_xml  # 2 of 3 votes: quorate
        steps = crmsim.run_until_idle(cib, quorum=q.lone_boot_quorate, up=[node])
        return [_outcome(m, "boot-alone", f"{node} boots while {m.nodes[1]} is down (cold start)", steps)]

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        cold_start = pool.submit(boot_alone)  # needs no settled cluster: runs while the other settles
        settled = pool.submit(crmsim.run_until_idle, cib_xml, quorum=True, up=m.nodes).result()[-1]
        active_nodes = _group_nodes(m, settled.after)
        if len(active_nodes) != 1 or any(r not in settled.after for r in m.members):
            raise crmsim.CrmSimulateError(f"with both nodes up the group does not run whole on one node: {settled.after}")
        active = active_nodes[0]
        passive = next(n for n in m.nodes if n != active)

        def crash(node: str) -> list[crmsim.Step]:
            return crmsim.run_until_idle(settled.cib, quorum=q.survivor_quorate, fail=[node])

        def split(cib: str, running: str, other: str, key: str, when: str) -> Outcome:
            """Both nodes of the cluster in `cib` lose each other; `running` runs the group, if anything does."""
            def lost(node: str) -> Outcome:
                steps = crmsim.run_until_idle(cib, quorum=q.survivor_quorate, fail=[node])
                return _outcome(m, f"{key}-{node}", "", steps, lost=[node])
            return _fence_race(m, running, other, lost(running), lost(other), key=key, when=when)

        def active_crash_and_return() -> list[Outcome]:
            steps = crash(active)
            back = crmsim.run_until_idle(cibs.rebooted(steps[-1].cib, active), quorum=True, up=[active])
            outcomes = [_outcome(m, "active-crash", f"{active}, the active node, crashes or loses power", steps,
                                 lost=[active]),
                        *_fence_fails(m, active, passive, steps[0]),
                        _outcome(m, "failback", f"{active} comes back after that", back)]
            if _group_nodes(m, back[-1].after) == (passive,):
                # The group now runs on the secondary: the node running it must still win a split.
                outcomes.append(split(back[-1].cib, passive, active, "fence-race-after-failover",
                                      f"after that, with the group on {passive}, {passive} and {active} lose each other"))
            return outcomes

        def race_with_group_stopped() -> list[Outcome]:
            stopped = crmsim.run_until_idle(cibs.with_group_stopped(settled.cib), quorum=True)[-1].cib
            return [split(stopped, active, passive, "fence-race-stopped",
                          f"{active} and {passive} lose each other while the group runs nowhere (first install, "
                          "storage grow, a failed start)")]

        def flaky_fence_device() -> list[Outcome]:
            """The BMC of the active node answers the passive node's device monitor badly for a while (as many
            failures as move the group), then the active node crashes: it must still be fenced. The fencer
            only uses a device whose score on its own node is not negative, and the device fencing the active
            node may only run on the passive one: banned there, it is banned everywhere."""
            device = m.fence_devices.get(active)
            if device is None or device not in m.fence_monitor_ms:
                return []
            times = max(m.migration_threshold.values(), default=0) or FAILURES_WITHOUT_THRESHOLD
            flaky = crmsim.run_until_idle(settled.cib, quorum=True, inject=[
                f"{device}_monitor_{m.fence_monitor_ms[device]}@{passive}=1"] * times)
            steps = crmsim.run_until_idle(flaky[-1].cib, quorum=q.survivor_quorate, fail=[active])
            usable = passive in flaky[-1].after.get(device, ())
            first = (f"Restarts {device} in place on {passive}" if usable
                     else f"Stops {device}: it is banned from {passive}, the only node it may run on")
            unsafe = () if usable else (f"{passive}'s fencer ignores {device} (banned from its node): {active} "
                                        "cannot be fenced",)
            when = (f"the monitor of {device} (the device fencing {active}, on {passive}) fails {words.times(times)} "
                    f"(a flaky BMC), then {active} crashes")
            return [_prefixed(m, _outcome(m, "fence-device-flaky", when, steps, lost=[active]), first + "; then it",
                              unsafe, lost=[active])]

        def uplink_lost() -> list[Outcome]:
            """The ping clone's results: each node reaches every target, except those said to reach none."""
            if m.ping is None:
                return []
            attribute, multiplier, targets = m.ping

            def reaching(*deaf: str) -> list[crmsim.Step]:
                values = {n: {attribute: str(0 if n in deaf else multiplier * len(targets))} for n in m.nodes}
                return crmsim.run_until_idle(crmsim.with_node_attributes(settled.cib, values), quorum=True)
            said = " or ".join(targets)
            return [_outcome(m, "uplink-lost", f"{active} loses its uplink: it reaches no ping target ({said}), "
                             f"{passive} does", reaching(active)),
                    _outcome(m, "uplink-lost-both", f"neither node reaches a ping target ({said}): the gateway "
                             "is down", reaching(active, passive))]

        def passive_crash() -> list[Outcome]:
            return [_outcome(m, "passive-crash", f"{passive}, the passive node, crashes", crash(passive), lost=[passive])]

        def monitor_failures(rsc: str, times: int) -> list[str]:
            return [f"{rsc}_monitor_{m.monitor_ms[rsc]}@{active}={OCF_NOT_RUNNING}"] * times

        def maintenance() -> list[Outcome]:
            """The cluster-wide maintenance-mode (an admin's), then the update chain's window: the group's own
            maintenance, which leaves fencing armed (components/render/update.py)."""
            rsc = m.members[0]
            times = m.migration_threshold[rsc] or 1
            frozen = cibs.with_maintenance_mode(settled.cib)
            steps = crmsim.run_until_idle(frozen, quorum=True, inject=monitor_failures(rsc, times))
            outcomes = [_outcome(m, "maintenance", f"maintenance-mode=true, and the monitor of {rsc} fails "
                                 f"{words.times(times)}", steps)]
            if settings.fenced:
                lost = crmsim.run_until_idle(frozen, quorum=q.survivor_quorate, fail=[active])
                outcomes.append(_nobody_fenced(_outcome(
                    m, "maintenance-active-crash", f"maintenance-mode=true, and {active}, the active node, crashes",
                    lost, lost=[active]), "maintenance-mode stops fencing too: never used for updates"))
            window = cibs.with_update_window(settled.cib)
            during = f"during an update (the update chain's window: group {GROUP_ID} meta maintenance=true)"
            outcomes.append(_outcome(m, "update-window", f"{during}, the monitor of {rsc} fails {words.times(times)}",
                                     crmsim.run_until_idle(window, quorum=True, inject=monitor_failures(rsc, times))))
            for key, node, role in (("update-window-active-crash", active, "the active node"),
                                    ("update-window-passive-crash", passive, "the passive node")):
                lost = crmsim.run_until_idle(window, quorum=q.survivor_quorate, fail=[node])
                outcomes.append(_outcome(m, key, f"{during}, {node}, {role}, crashes", lost, lost=[node]))
            return outcomes

        def monitor_fails(rsc: str) -> Callable[[], list[Outcome]]:
            # The recovery of a failed monitor is one transition: scheduling it shows all of it, and is
            # several times cheaper than simulating it, which matters across every member of every stack.
            def recovery(times: int) -> list[crmsim.Step]:
                return [crmsim.simulate(settled.cib, quorum=True, inject=monitor_failures(rsc, times), execute=False)]

            def run() -> list[Outcome]:
                threshold = m.migration_threshold[rsc]
                outcomes = []
                if threshold != 1:
                    # Without a threshold (0: never moves), show that even a run of failures stays in place.
                    times = threshold - 1 if threshold else FAILURES_WITHOUT_THRESHOLD
                    outcomes.append(_outcome(m, f"monitor-{rsc}-restart", f"the monitor of {rsc} fails "
                                             f"{words.times(times)}", recovery(times)))
                if threshold:
                    outcomes.append(_outcome(m, f"monitor-{rsc}-threshold", f"the monitor of {rsc} fails a "
                                             f"{words.ordinal(threshold)} time (migration-threshold)", recovery(threshold)))
                return outcomes
            return run

        # The longest chain first, so both workers stay busy until the end.
        jobs = ([active_crash_and_return, passive_crash, race_with_group_stopped, flaky_fence_device, uplink_lost,
                 lambda: failover_watch.outcomes(m, settled.cib, active, passive, _outcome), maintenance]
                + [monitor_fails(r) for r in failing] + failover_qdevice.jobs(m, settled.cib, active, passive))
        results = [o for future in [pool.submit(job) for job in jobs] + [cold_start] for o in future.result()]
    by_key = {o.key: o for o in results}
    by_key["fence-race"] = _fence_race(m, active, passive, by_key["active-crash"], by_key["passive-crash"])
    order = ["active-crash", "passive-crash", "fence-race", "fence-race-stopped", "fence-fails", "fence-device-flaky",
             "failback", "fence-race-after-failover", "uplink-lost", "uplink-lost-both", "iscsi-watch-passive",
             "iscsi-watch-active", "boot-alone", "maintenance"]
    outcomes = [by_key[key] for key in order if key in by_key] + [o for o in results if o.key not in order]
    return Matrix(stack=settings.stack, active=active, passive=passive, members=m.members, quorum=q,
                  outcomes=tuple(outcomes))


def _fence_fails(m: Model, lost: str, survivor: str, step: crmsim.Step) -> list[Outcome]:
    """The fence of `lost` never completes: only what does not wait for it can ever run. Without fencing
    (failover: manual) there is no fence to fail, and nothing to say unless the survivor starts anything."""
    graph = step.graph
    fence = next((f for f in graph.fences() if f.node == lost), None)
    starts = [a for a in graph.ops("start", node=survivor) if a.resource in m.members]
    if fence is None and not starts:
        return []
    if fence is None:
        runnable = starts
        why = "no fence is scheduled"
    else:
        runnable = [a for a in starts if fence.id not in graph.ancestors(a.id)]
        why = f"all {len(starts)} starts of the group on {survivor} wait for the fence of {lost} in the transition graph"
    unsafe = tuple(f"{a.resource} can start on {survivor} although {lost} was never fenced" for a in runnable)
    if runnable:
        does = f"Starts {words.span([a.resource for a in runnable])} on {survivor} without the fence"
    else:
        does = (f"Starts nothing on {survivor} ({why}); the cluster waits until the fence succeeds or an admin "
                f"confirms {lost} is off (stonith_admin --confirm {lost})")
    return [Outcome(key="fence-fails", when=f"{lost} is lost and its fence cannot complete (BMC unreachable)",
                    does=does + (". UNSAFE: " + "; ".join(unsafe) if unsafe else ""), fenced=(),
                    started=tuple((a.resource, survivor) for a in runnable), stopped=(),
                    group_before=_group_nodes(m, step.before), group_after=_group_nodes(m, step.before),
                    running_after=(), unsafe=unsafe)]


def _fence_race(m: Model, active: str, passive: str, active_lost: Outcome, passive_lost: Outcome,
                key: str = "fence-race", when: str = "") -> Outcome:
    """Both nodes see the other fail at once. Each acts on its own view: `passive` sees the active node lost
    (the active-crash scenario), `active` sees the passive node lost. With fencing, whoever shoots first wins
    and its view is what happens; the other node is powered off before its own fence fires. `active` is the
    node running the group, if any runs."""
    if m.quorum.device:  # only the side with the arbitrator's vote acts: tools/failover_qdevice.py
        return failover_qdevice.arbitrated_split(m, active, passive, active_lost, passive_lost, key, when)
    when = when or f"{active} and {passive} lose each other (network split): both see the other fail"
    shots = {passive: active_lost.fenced, active: passive_lost.fenced}  # shooter -> the fences it carries out
    if not shots[active] and not shots[passive]:
        # No fencing: both partitions act at once, each only on itself.
        ends = sorted({n for o, own in ((active_lost, passive), (passive_lost, active)) for n in o.group_after if n == own})
        keeps = f"{ends[0]} keeps the group" if len(ends) == 1 else ("nobody runs the group" if not ends
                                                                     else "BOTH nodes run the group")
        unsafe = ("the group runs on both nodes",) if len(ends) > 1 else ()
        does = f"Nobody is fenced (no STONITH); {keeps}, the other starts nothing"
        return Outcome(key=key, when=when, does=does + (". UNSAFE: " + unsafe[0] if unsafe else ""),
                       fenced=(), started=(), stopped=(), group_before=active_lost.group_before, group_after=tuple(ends),
                       running_after=(), unsafe=unsafe)
    earliest = {shooter: min((e for _, e, _ in fences), default=float("inf")) for shooter, fences in shots.items()}
    latest = {shooter: max((last for _, _, last in fences), default=float("inf")) for shooter, fences in shots.items()}
    winner = next((me for me, other in ((active, passive), (passive, active)) if latest[me] < earliest[other]), None)
    if winner is None:
        does = (f"Both may fence each other: {active} fences after {words.seconds_range(earliest[active], latest[active])}, "
                f"{passive} after {words.seconds_range(earliest[passive], latest[passive])}. UNSAFE: the fence race is not decided")
        return Outcome(key=key, when=when, does=does, fenced=(), started=(), stopped=(),
                       group_before=active_lost.group_before, group_after=(), running_after=(),
                       unsafe=("the fence race is not decided",))
    loser = passive if winner == active else active
    view = passive_lost if winner == active else active_lost
    static = m.static_fence_delay_s.get(winner, (0.0, 0.0))[0]
    reasons = ([f"the device fencing {winner} waits pcmk_delay_base={static:g}s"] if static else [])
    if earliest[loser] > static:
        reasons.insert(0, "priority-fencing-delay protects the node running the group")
    why = f" ({'; '.join(reasons)})" if reasons else ""
    does = (f"{winner} wins the race: it fences {loser} after {words.seconds_range(earliest[winner], latest[winner])}, "
            f"while {loser} would fence {winner} only after {words.seconds_range(earliest[loser], latest[loser])}{why}; "
            f"the group ends on {', '.join(view.group_after) or 'no node'}")
    return Outcome(key=key, when=when, does=does, fenced=shots[winner], started=view.started,
                   stopped=view.stopped, group_before=view.group_before, group_after=view.group_after,
                   running_after=view.running_after, unsafe=view.unsafe)
