"""The rendered CIB and corosync.conf, proved with ClusterLabs' own tools for every stack and variant.

- crm_verify accepts each CIB once pacemaker's scheduler has brought both nodes up;
- corosync -t accepts each corosync.conf on each node (identified by its ring0 address);
- every agent parameter exists in that agent's own metadata, and every required one is set;
- crm_simulate plays the failover matrix (tools/failover.py) and the cluster does what an admin relies on.
"""
from __future__ import annotations

import functools
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from components.agents import SERVICE_AGENT_PROVIDER, SERVICE_AGENT_SOURCE
from components.render.cib import render_cib
from components.render.corosync import AUTHKEY_PATH, render_corosync
from components.settings import Settings
from tests.conftest import require_root, require_tool
from tests.stacks import ALL, CIB_CONFIGS, STACK_NAMES, settings_of
from tools import crmsim, failover
from tools.failover_markdown import failover_markdown

TIME_LIMIT_S = 60
OCF_ROOT = "/usr/lib/ocf"
FENCED_METADATA = "/usr/lib/pacemaker/pacemaker-fenced"


@functools.cache
def settled_cib(name: str) -> str:
    s = settings_of(name)
    return crmsim.settle(render_cib(s), [n.name for n in s.nodes])


@functools.cache
def matrix_of(name: str) -> failover.Matrix:
    """Every member's monitor fails in the stacks (4.x and 5.x service lists); the variants, which change
    the mode or the service list of a stack, fail the first and the last member."""
    s = settings_of(name)
    cib = render_cib(s)
    members = failover.model(s, cib).members
    return failover.run_matrix(s, cib, failing_members=None if name in STACK_NAMES else (members[0], members[-1]))


def test_variants_cover_what_they_claim():
    assert {settings_of(n).failover for n in ALL} == {"automatic", "manual"}
    assert {settings_of(n).second_link for n in ALL} == {True, False}
    assert {settings_of(n).bluemind.major for n in CIB_CONFIGS} == {4, 5}


# ---------------------------------------------------------------------------------------------------
# 1. crm_verify
# ---------------------------------------------------------------------------------------------------
def _crm_verify(tmp_path: Path, cib: str) -> subprocess.CompletedProcess:
    path = tmp_path / "cib.xml"
    path.write_text(cib)
    return subprocess.run(["crm_verify", "--xml-file", str(path), "--verbose"], capture_output=True, text=True,
                          timeout=TIME_LIMIT_S)


@pytest.mark.parametrize("name", CIB_CONFIGS)
def test_crm_verify_accepts_the_cib_with_both_nodes_up(name, tmp_path):
    require_tool("crm_simulate", "crm_verify")
    result = _crm_verify(tmp_path, settled_cib(name))
    assert (result.returncode, result.stdout + result.stderr) == (0, ""), result.stdout + result.stderr


def test_crm_verify_rejects_fencing_without_devices(tmp_path):
    """The check bites: stonith-enabled without any fence device must not pass."""
    require_tool("crm_simulate", "crm_verify")
    root = ET.fromstring(settled_cib("dev"))
    resources = root.find("configuration/resources")
    for device in resources.findall("primitive[@class='stonith']"):
        resources.remove(device)
    constraints = root.find("configuration/constraints")
    for location in list(constraints):
        constraints.remove(location)
    result = _crm_verify(tmp_path, ET.tostring(root, encoding="unicode"))
    assert result.returncode != 0
    assert "STONITH" in result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------------
# 2. corosync -t
# ---------------------------------------------------------------------------------------------------
def _corosync_test(tmp_path: Path, conf: str, address: str) -> subprocess.CompletedProcess:
    """`corosync -t` as the node owning `address`: corosync finds its own node in the nodelist by a local
    address, so the check runs in a throwaway network namespace (unshare: it vanishes with the process)
    holding only that address. The keyfile path is the only line rewritten, to a fresh key."""
    key = tmp_path / "authkey"
    if not key.exists():
        subprocess.run(["corosync-keygen", "-l", "-k", str(key)], check=True, capture_output=True, timeout=TIME_LIMIT_S)
    assert conf.count(f"keyfile: {AUTHKEY_PATH}") == 1
    path = tmp_path / "corosync.conf"
    path.write_text(conf.replace(f"keyfile: {AUTHKEY_PATH}", f"keyfile: {key}"))
    script = 'ip link set lo up && ip addr add "$1/32" dev lo && exec corosync -t -c "$2"'
    return subprocess.run(["unshare", "--net", "sh", "-c", script, "sh", address, str(path)],
                          capture_output=True, text=True, timeout=TIME_LIMIT_S)


@pytest.mark.parametrize("name", ALL)
def test_corosync_accepts_the_config_on_each_node(name, tmp_path):
    require_root()
    require_tool("corosync", "corosync-keygen", "unshare", "ip")
    s = settings_of(name)
    conf = render_corosync(s)
    for node in s.nodes:
        result = _corosync_test(tmp_path, conf, node.ip)
        assert result.returncode == 0, f"{name} on {node.name}: {result.stdout}{result.stderr}"
    assert ("ring1_addr" in conf) == s.second_link


def test_corosync_check_bites(tmp_path):
    """The same check refuses a node outside the nodelist and nodes with different numbers of links."""
    require_root()
    require_tool("corosync", "corosync-keygen", "unshare", "ip")
    s = settings_of("prod")
    conf = render_corosync(s)
    stranger = _corosync_test(tmp_path, conf, "10.20.0.99")
    assert stranger.returncode != 0 and "No valid name found for local host" in stranger.stderr
    one_link_less = conf.replace(f"        ring1_addr: {s.nodes[1].link1_ip}\n", "", 1)
    uneven = _corosync_test(tmp_path, one_link_less, s.nodes[0].ip)
    assert uneven.returncode != 0 and "same number of links" in uneven.stderr


# ---------------------------------------------------------------------------------------------------
# 3. Agent parameters against the agents' own metadata
# ---------------------------------------------------------------------------------------------------
# pacemaker-fenced passes these to every fence agent itself; Pacemaker Explained: never configure `action`.
SUPPLIED_BY_FENCER = {"action", "port", "plug"}


@functools.cache
def _metadata(command: tuple[str, ...]) -> dict[str, ET.Element]:
    env = {**os.environ, "OCF_ROOT": OCF_ROOT}
    out = subprocess.run(list(command), capture_output=True, text=True, check=True, env=env, timeout=TIME_LIMIT_S).stdout
    return {p.get("name"): p for p in ET.fromstring(out).iter("parameter")}


def _agent_metadata(primitive: ET.Element) -> dict[str, ET.Element]:
    cls, provider, rtype = primitive.get("class"), primitive.get("provider"), primitive.get("type")
    if cls == "stonith":
        return _metadata((rtype, "-o", "metadata"))
    assert cls == "ocf", f"no metadata source for class {cls}"
    # Our own agents (ocf:bluemind-ha:*) from their sources, beside the service agent.
    agent = SERVICE_AGENT_SOURCE.with_name(rtype) if provider == SERVICE_AGENT_PROVIDER else Path(OCF_ROOT, "resource.d", provider, rtype)
    return _metadata((str(agent), "meta-data"))


def _parameter_problems(primitive: ET.Element) -> list[str]:
    rsc = primitive.get("id")
    agent = _agent_metadata(primitive)
    known = dict(agent)
    if primitive.get("class") == "stonith":
        known.update(_metadata((FENCED_METADATA, "metadata")))
    params = {nv.get("name"): nv.get("value") for nv in primitive.findall("instance_attributes/nvpair")}
    problems = []
    for name, value in params.items():
        meta = known.get(name)
        if meta is None:
            problems.append(f"{rsc}: {name} is not a parameter of {primitive.get('type')}")
            continue
        if meta.get("deprecated") == "1":
            problems.append(f"{rsc}: {name} is deprecated")
        content = meta.find("content")
        options = [o.get("value") for o in content.findall("option")] if content is not None else []
        if options and value not in options:
            problems.append(f"{rsc}: {name}={value} is not one of {options}")
    for name, meta in agent.items():
        if meta.get("required") == "1" and name not in params and not (
                primitive.get("class") == "stonith" and name in SUPPLIED_BY_FENCER):
            problems.append(f"{rsc}: required {name} is not set")
    return problems


@pytest.mark.parametrize("name", CIB_CONFIGS)
def test_every_agent_parameter_is_known_and_every_required_one_set(name):
    require_tool("fence_ipmilan")
    if not Path(FENCED_METADATA).exists():
        require_tool("pacemaker-fenced")
    primitives = [p for p in ET.fromstring(render_cib(settings_of(name))).iter("primitive") if p.get("class") != "systemd"]
    assert primitives
    assert [problem for p in primitives for problem in _parameter_problems(p)] == []


def test_parameter_check_bites():
    require_tool("fence_ipmilan")
    device = ET.fromstring(render_cib(settings_of("dev"))).find(".//primitive[@class='stonith']")
    params = device.find("instance_attributes")
    ip = params.find("nvpair[@name='ip']")
    params.remove(ip)
    ET.SubElement(params, "nvpair", id="x-passwd", name="passwd", value="secret")
    ET.SubElement(params, "nvpair", id="x-pcmk", name="pcmk_host_lst", value="bm1")
    params.find("nvpair[@name='method']").set("value", "reset")
    problems = "\n".join(_parameter_problems(device))
    assert "passwd is deprecated" in problems
    assert "pcmk_host_lst is not a parameter" in problems
    assert "method=reset is not one of" in problems
    filesystem = ET.fromstring(render_cib(settings_of("dev"))).find(".//primitive[@type='Filesystem']")
    filesystem.find("instance_attributes").remove(filesystem.find("instance_attributes/nvpair[@name='device']"))
    assert any("required device is not set" in p for p in _parameter_problems(filesystem))


# ---------------------------------------------------------------------------------------------------
# 4. The failover matrix, played by pacemaker's scheduler
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(params=CIB_CONFIGS)
def matrix(request) -> tuple[Settings, failover.Matrix]:
    require_tool("crm_simulate")
    return settings_of(request.param), matrix_of(request.param)


def test_no_scenario_breaks_the_safety_rules(matrix):
    _, mx = matrix
    assert {o.key: o.unsafe for o in mx.outcomes if o.unsafe} == {}


def test_active_node_crash(matrix):
    s, mx = matrix
    o = mx.outcome("active-crash")
    if s.fenced:
        assert [node for node, *_ in o.fenced] == [mx.active]
        assert o.started == tuple((rsc, mx.passive) for rsc in mx.members)
        assert (o.group_after, o.running_after) == ((mx.passive,), mx.members)
    else:
        assert (o.fenced, o.started, o.group_after) == ((), (), ())


def test_passive_node_crash(matrix):
    s, mx = matrix
    o = mx.outcome("passive-crash")
    assert [node for node, *_ in o.fenced] == ([mx.passive] if s.fenced else [])
    assert (o.started, o.stopped, o.group_after, o.running_after) == ((), (), (mx.active,), mx.members)


def test_fence_race_leaves_the_active_node_running_the_group(matrix):
    s, mx = matrix
    o = mx.outcome("fence-race")
    assert o.group_after == (mx.active,)
    if s.fenced:
        (target, earliest, latest), = o.fenced
        assert target == mx.passive
        # The survivor of the race shoots first: the fence of the active node waits priority-fencing-delay
        # (and, the active node being the primary, its device's pcmk_delay_base).
        (_, active_earliest, _), = mx.outcome("active-crash").fenced
        static = s.cluster.fence_delay_base_s if mx.active == s.nodes[0].name else 0
        assert latest < active_earliest == s.cluster.priority_fencing_delay_s + static


def test_a_split_while_the_group_runs_nowhere_fences_exactly_one_node(matrix):
    """Issue 14 item 2: with the group stopped the priorities are equal; the static delay on the device
    fencing the primary decides the race, so the primary fences the secondary and nobody fences the primary."""
    s, mx = matrix
    o = mx.outcome("fence-race-stopped")
    assert (o.unsafe, o.group_before, o.group_after) == ((), (), ())
    if s.fenced:
        primary, secondary = (n.name for n in s.nodes)
        assert [node for node, *_ in o.fenced] == [secondary], o.does
        assert o.does.startswith(f"{primary} wins the race"), o.does
    else:
        assert o.fenced == ()


def test_the_node_running_the_group_wins_a_split_after_a_failover(matrix):
    """The static delay is shorter than priority-fencing-delay: once the group runs on the secondary, the
    secondary still wins a split against the primary."""
    s, mx = matrix
    if not s.fenced:
        return
    o = mx.outcome("fence-race-after-failover")
    assert [node for node, *_ in o.fenced] == [mx.active] and o.group_after == (mx.passive,), o.does
    assert o.does.startswith(f"{mx.passive} wins the race") and o.unsafe == (), o.does


def test_nothing_starts_while_the_fence_cannot_complete(matrix):
    s, mx = matrix
    if not s.fenced:
        assert "fence-fails" not in {o.key for o in mx.outcomes}  # no fence to fail, nothing started
        return
    assert mx.outcome("fence-fails").started == ()
    # Not vacuous: the same transition graph starts the whole group once the fence has completed.
    assert len(mx.outcome("active-crash").started) == len(mx.members)


def test_a_flaky_bmc_never_disables_the_fence_device(matrix):
    """Issue 14 item 1: as many failed monitors of the device fencing the active node as move the group
    restart it in place on the passive node, and a crash of the active node after that is still fenced."""
    s, mx = matrix
    if not s.fenced:
        assert "fence-device-flaky" not in {o.key for o in mx.outcomes}
        return
    o = mx.outcome("fence-device-flaky")
    assert o.unsafe == () and o.does.startswith(f"Restarts fence-{mx.active} in place on {mx.passive}"), o.does
    assert [node for node, *_ in o.fenced] == [mx.active]
    assert (o.group_after, o.running_after) == ((mx.passive,), mx.members)


def test_a_node_that_loses_its_uplink_hands_the_group_over(matrix):
    """Issue 14 item 7: the ping attribute 0 on the active node (the peer reaching its targets) moves the
    group; 0 on both nodes (the gateway is down) moves nothing. Manual stacks never move the group."""
    s, mx = matrix
    keys = {o.key for o in mx.outcomes}
    if not s.fenced:
        assert not keys & {"uplink-lost", "uplink-lost-both"}
        assert ET.fromstring(render_cib(s)).find(".//primitive[@type='ping']") is None
        return
    lost = mx.outcome("uplink-lost")
    assert lost.when.startswith(f"{mx.active} loses its uplink") and " or ".join(s.ping_targets) in lost.when
    assert (lost.unsafe, lost.fenced, lost.group_after, lost.running_after) == ((), (), (mx.passive,), mx.members)
    assert lost.started == tuple((r, mx.passive) for r in mx.members)
    both = mx.outcome("uplink-lost-both")
    assert (both.unsafe, both.fenced, both.stopped, both.started, both.group_after) == ((), (), (), (), (mx.active,))


def test_no_failback_when_the_lost_node_returns(matrix):
    s, mx = matrix
    o = mx.outcome("failback")
    assert len(o.group_after) == 1 and o.running_after == mx.members
    if s.fenced:
        assert (o.group_after, o.started, o.stopped) == ((mx.passive,), (), ())


def test_maintenance_mode_freezes_everything(matrix):
    _, mx = matrix
    o = mx.outcome("maintenance")
    assert (o.fenced, o.started, o.stopped, o.group_after) == ((), (), (), (mx.active,))


def test_a_node_lost_during_the_update_window_is_still_fenced(matrix):
    """Issue 14 item 6: the update chain's window (the group's maintenance) keeps STONITH live, unlike the
    cluster-wide maintenance-mode, which leaves a lost node unfenced (the proof bites: maintenance-active-crash)."""
    s, mx = matrix
    active = mx.outcome("update-window-active-crash")
    passive = mx.outcome("update-window-passive-crash")
    if s.fenced:
        assert [node for node, *_ in active.fenced] == [mx.active]
        assert [node for node, *_ in passive.fenced] == [mx.passive]
        assert mx.outcome("maintenance-active-crash").fenced == ()
    else:
        assert active.fenced == passive.fenced == ()
    # The unmanaged group is never started on the survivor in the middle of an update, nor moved.
    assert (active.started, active.stopped, active.group_after) == ((), (), ())
    assert (passive.started, passive.stopped, passive.group_after, passive.running_after) == \
        ((), (), (mx.active,), mx.members)


def test_pacemaker_leaves_the_group_alone_during_the_update_window(matrix):
    """Failed monitors during the update (package scripts restarting services) neither restart nor move the
    group, even at the migration-threshold."""
    _, mx = matrix
    o = mx.outcome("update-window")
    # The member whose monitor said "not running" is left as reported; every other one keeps running.
    assert (o.fenced, o.started, o.stopped, o.group_after, o.running_after) == \
        ((), (), (), (mx.active,), mx.members[1:])


def test_the_update_window_proof_bites():
    """Without the window (the group managed), the same failures restart the group; without fencing armed
    (maintenance-mode), the same crash is not fenced."""
    require_tool("crm_simulate")
    mx = matrix_of("dev")
    assert mx.outcome("monitor-" + mx.members[0] + "-threshold").started  # managed: it moves
    assert mx.outcome("update-window-active-crash").fenced and not mx.outcome("maintenance-active-crash").fenced


def test_a_node_booting_alone_starts_nothing(matrix):
    _, mx = matrix
    assert not mx.quorum.lone_boot_quorate
    o = mx.outcome("boot-alone")
    assert (o.fenced, o.started) == ((), ())


def _non_critical(cib: str) -> set[str]:
    """Group members whose failures must never move the group (meta critical=false)."""
    return {p.get("id") for p in ET.fromstring(cib).iter("primitive")
            if p.find("meta_attributes/nvpair[@name='critical'][@value='false']") is not None}


def test_each_member_restarts_in_place_then_moves_the_group_at_its_threshold_only_when_fenced(matrix):
    s, mx = matrix
    non_critical = _non_critical(render_cib(s))
    failing = [o.key.removeprefix("monitor-").removesuffix("-restart") for o in mx.outcomes
               if o.key.startswith("monitor-") and o.key.endswith("-restart")]
    assert failing == (list(mx.members) if s.stack in STACK_NAMES else [mx.members[0], mx.members[-1]])
    for rsc in failing:
        i = mx.members.index(rsc)
        restart = mx.outcome(f"monitor-{rsc}-restart")
        from_it = mx.members[i:]
        assert restart.stopped == tuple((r, mx.active) for r in reversed(from_it)), rsc
        assert restart.started == tuple((r, mx.active) for r in from_it), rsc
        assert (restart.fenced, restart.group_after, restart.running_after) == ((), (mx.active,), mx.members), rsc
        if not s.fenced:
            # The seed: no automatic changeover without STONITH. A run of failures restarts in place, and
            # there is no threshold at which the group would leave.
            assert f"fails {failover.FAILURES_WITHOUT_THRESHOLD} times" in restart.when, rsc
            assert not any(o.key == f"monitor-{rsc}-threshold" for o in mx.outcomes), rsc
            continue
        moved = mx.outcome(f"monitor-{rsc}-threshold")
        if rsc in non_critical:
            # The config sync stops on its node; BlueMind stays where it is (no failover for lsyncd).
            assert (moved.stopped, moved.started, moved.fenced) == (((rsc, mx.active),), (), ()), rsc
            assert moved.group_after == (mx.active,) and rsc not in moved.running_after, rsc
            continue
        assert moved.stopped == tuple((r, mx.active) for r in reversed(mx.members)), rsc
        assert moved.started == tuple((r, mx.passive) for r in mx.members), rsc
        assert (moved.fenced, moved.group_after) == ((), (mx.passive,)), rsc


# The safety rules bite: the unsafe configurations they exist for are reported as unsafe.
def _without(cib: str, property_name: str, replacement: str | None = None) -> str:
    root = ET.fromstring(cib)
    props = root.find(".//crm_config/cluster_property_set")
    nvpair = props.find(f"nvpair[@name='{property_name}']")
    if replacement is None:
        props.remove(nvpair)
    else:
        nvpair.set("value", replacement)
    return ET.tostring(root, encoding="unicode")


def _without_static_delay(cib: str) -> str:
    root = ET.fromstring(cib)
    for params in root.iterfind(".//primitive[@class='stonith']/instance_attributes"):
        for nvpair in params.findall("nvpair[@name='pcmk_delay_base']"):
            params.remove(nvpair)
    return ET.tostring(root, encoding="unicode")


def test_safety_rules_flag_a_fence_race_without_priority_fencing_delay():
    require_tool("crm_simulate")
    s = settings_of("dev")
    cib = _without_static_delay(_without(render_cib(s), "priority-fencing-delay"))
    mx = failover.run_matrix(s, cib, failing_members=())
    assert mx.outcome("fence-race").unsafe == ("the fence race is not decided",)


def test_safety_rules_flag_a_fence_race_with_the_group_stopped_without_a_static_delay():
    require_tool("crm_simulate")
    s = settings_of("dev")
    mx = failover.run_matrix(s, _without_static_delay(render_cib(s)), failing_members=())
    assert mx.outcome("fence-race-stopped").unsafe == ("the fence race is not decided",)
    assert mx.outcome("fence-race").unsafe == ()  # priority-fencing-delay alone decides it while the group runs


def test_safety_rules_flag_a_fence_device_that_the_group_threshold_bans():
    """Without its own migration-threshold=0, the device inherits the group's threshold from rsc_defaults."""
    require_tool("crm_simulate")
    s = settings_of("dev")
    root = ET.fromstring(render_cib(s))
    for device in root.iterfind(".//primitive[@class='stonith']"):
        device.remove(device.find("meta_attributes"))
    mx = failover.run_matrix(s, ET.tostring(root, encoding="unicode"), failing_members=())
    o = mx.outcome("fence-device-flaky")
    assert o.unsafe == (f"{mx.passive}'s fencer ignores fence-{mx.active} (banned from its node): {mx.active} "
                        "cannot be fenced",), o.does


def test_uplink_scenario_bites_without_the_location_rule():
    require_tool("crm_simulate")
    s = settings_of("dev")
    root = ET.fromstring(render_cib(s))
    constraints = root.find(".//constraints")
    constraints.remove(constraints.find("rsc_location[@rsc='bluemind'][rule]"))
    mx = failover.run_matrix(s, ET.tostring(root, encoding="unicode"), failing_members=())
    assert mx.outcome("uplink-lost").group_after == (mx.active,)


def test_safety_rules_flag_takeover_without_fencing():
    """stonith-enabled=false with two_node: the survivor starts the group without knowing the peer is off."""
    require_tool("crm_simulate")
    s = settings_of("dev")
    mx = failover.run_matrix(s, _without(render_cib(s), "stonith-enabled", "false"), failing_members=())
    assert any(f"before {mx.active} is fenced" in problem for problem in mx.outcome("active-crash").unsafe)
    assert mx.outcome("fence-fails").unsafe


# ---------------------------------------------------------------------------------------------------
# 5. The admin's table
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ("dev", "dev-manual"))
def test_failover_markdown_is_deterministic_and_says_what_happens(name):
    require_tool("crm_simulate")
    s = settings_of(name)
    cib = render_cib(s)
    first, second = failover_markdown(s, cib), failover_markdown(s, cib)
    assert first == second
    active, passive = (n.name for n in s.nodes)
    crash_row = next(line for line in first.splitlines() if line.startswith(f"| {active}, the active node, crashes"))
    if s.fenced:
        assert f"Fences {active}" in crash_row and f"starts the whole group on {passive} in order" in crash_row
    else:
        assert f"Starts nothing on {passive}" in crash_row
    assert "| no |" not in first
    assert f"during an update (the update chain's window: group bluemind meta maintenance=true), {active}" in first
