"""The failover matrix's model of a cluster: what the rendered corosync.conf and CIB say about quorum,
the group, the fence devices and their delays (tools/failover.py plays the scenarios on it)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

from components.agents import ISCSI_WATCH_AGENT_TYPE
from components.names import GROUP_ID
from components.render.cib_nvsets import INSTANCE, META, PROPERTIES, first_nvset, nvpairs, set_id_of, set_nvpair
from components.render.corosync import render_corosync
from components.settings import Settings


# What the simulation needs to know about the rendered configuration
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Votequorum:
    survivor_quorate: bool  # a node that lost its peer keeps quorum (two_node)
    lone_boot_quorate: bool  # a node that boots while its peer is down has quorum (two_node without wait_for_all)
    device: bool = False  # a third vote from an arbitrator (quorum.device): the matrix assumes it up


def votequorum(corosync_conf: str) -> Votequorum:
    """Read the quorum section of a corosync.conf the way votequorum(5) defines two_node and wait_for_all."""
    section = re.search(r"^quorum\s*\{(.*?)^\}", corosync_conf, re.M | re.S)
    options = dict(re.findall(r"^\s*(\w+)\s*:\s*(\S+)", section.group(1), re.M)) if section else {}
    two_node = options.get("two_node") == "1"
    wait_for_all = options.get("wait_for_all", "1" if two_node else "0") == "1"
    if re.search(r"^\s*device\s*\{", section.group(1) if section else "", re.M):
        # With the arbitrator's vote a lone node holds 2 of 3 votes (tools/failover_qdevice.py: when it is down).
        return Votequorum(survivor_quorate=True, lone_boot_quorate=not wait_for_all, device=True)
    # Two nodes, one vote each, no two_node: a lone node holds 1 of 2 votes and is inquorate.
    return Votequorum(survivor_quorate=two_node, lone_boot_quorate=two_node and not wait_for_all)


def _seconds(duration: str) -> float:
    """A pacemaker duration ("15s", "500ms", "2min", "1h", "90") in seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*(ms|msec|s|sec|m|min|h|hr)?\s*", duration)
    if not match:
        raise ValueError(f"not a pacemaker duration: {duration!r}")
    unit = {"ms": 0.001, "msec": 0.001, "m": 60, "min": 60, "h": 3600, "hr": 3600}.get(match.group(2) or "s", 1)
    return int(match.group(1)) * unit


@dataclass(frozen=True)
class Model:
    members: tuple[str, ...]  # the group, in start order
    monitor_ms: Mapping[str, int]  # member -> its recurring monitor's interval
    migration_threshold: Mapping[str, int]  # member -> failures before it is banned (0: never)
    static_fence_delay_s: Mapping[str, tuple[float, float]]  # fenced node -> the device's own (min, max) delay
    fence_devices: Mapping[str, str]  # fenced node -> the stonith primitive that fences it
    fence_monitor_ms: Mapping[str, int]  # stonith primitive -> its recurring monitor's interval
    ping: tuple[str, int, tuple[str, ...]] | None  # the uplink watch: (node attribute, its value per target, targets)
    storage_watch: tuple[str, int] | None  # the clone's primitive watching the iSCSI storage, its monitor interval
    nodes: tuple[str, str]
    quorum: Votequorum


def model(settings: Settings, cib_xml: str) -> Model:
    root = ET.fromstring(cib_xml)
    group = root.find(f".//resources/group[@id='{GROUP_ID}']")
    defaults = nvpairs(root.find(".//rsc_defaults"), META)
    group_meta = nvpairs(group, META)
    members, monitors, thresholds = [], {}, {}
    for primitive in group.findall("primitive"):
        rsc = primitive.get("id")
        members.append(rsc)
        monitor = primitive.find("operations/op[@name='monitor']")
        monitors[rsc] = int(_seconds(monitor.get("interval")) * 1000)
        meta = {**defaults, **group_meta, **nvpairs(primitive, META)}
        threshold = meta.get("migration-threshold", "INFINITY")
        thresholds[rsc] = 0 if threshold.upper() in ("INFINITY", "+INFINITY") else int(threshold)
    delays, devices, device_monitors = {}, {}, {}
    for device in root.iterfind(".//resources/primitive[@class='stonith']"):
        params = nvpairs(device, INSTANCE)
        monitor = device.find("operations/op[@name='monitor']")
        if monitor is not None:
            device_monitors[device.get("id")] = int(_seconds(monitor.get("interval")) * 1000)
        base = _seconds(params.get("pcmk_delay_base", "0"))
        # pcmk_delay_max bounds base + a random part (pacemaker-fenced metadata)
        high = max(base, _seconds(params.get("pcmk_delay_max", "0")))
        for target in re.split(r"[\s,;]+", params.get("pcmk_host_list", "").strip()):
            if target:
                delays[target] = (base, high)
                devices[target] = device.get("id")
    ping = None
    for primitive in root.iterfind(".//resources/clone/primitive[@class='ocf'][@provider='pacemaker'][@type='ping']"):
        params = nvpairs(primitive, INSTANCE)
        # ocf:pacemaker:ping's defaults: attribute pingd, multiplier 1
        ping = (params.get("name", "pingd"), int(params.get("multiplier", "1")), tuple(params["host_list"].split()))
    watch = root.find(f".//resources/clone/primitive[@type='{ISCSI_WATCH_AGENT_TYPE}']")
    storage_watch = None if watch is None else (
        watch.get("id"), int(_seconds(watch.find("operations/op[@name='monitor']").get("interval")) * 1000))
    return Model(members=tuple(members), monitor_ms=monitors, migration_threshold=thresholds,
                 static_fence_delay_s=delays, fence_devices=devices, fence_monitor_ms=device_monitors, ping=ping,
                 storage_watch=storage_watch,
                 nodes=(settings.nodes[0].name, settings.nodes[1].name),
                 quorum=votequorum(render_corosync(settings)))


# ---------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------
# The CIB variants scenarios start from
# ---------------------------------------------------------------------------------------------------
def rebooted(cib: str, node: str) -> str:
    """`node` after a reboot: whatever it ran is gone. When a node joins, the DC erases its resource history
    and re-probes; crm_simulate's node-up keeps the history, so a node lost without a fence (no STONITH)
    would otherwise come back pretending to run what it ran before the crash."""
    root = ET.fromstring(cib)
    state = root.find(f"status/node_state[@uname='{node}']")
    for stale in state.findall("lrm") + state.findall("transient_attributes"):
        state.remove(stale)
    return ET.tostring(root, encoding="unicode")


def _with_group_meta(cib: str, name: str, value: str) -> str:
    """The CIB with a meta attribute set on the group, as `crm_resource --resource GROUP --meta
    --set-parameter NAME --parameter-value VALUE` sets it."""
    root = ET.fromstring(cib)
    group = root.find(f".//resources/group[@id='{GROUP_ID}']")
    set_nvpair(first_nvset(group, META, set_id_of(GROUP_ID, META)), name, value)
    return ET.tostring(root, encoding="unicode")


def with_update_window(cib: str) -> str:
    """The update chain's window (components/render/update.py): the group's own maintenance meta attribute."""
    return _with_group_meta(cib, "maintenance", "true")


def with_maintenance_mode(cib: str) -> str:
    root = ET.fromstring(cib)
    set_nvpair(root.find(f".//crm_config/{PROPERTIES}"), "maintenance-mode", "true")
    return ET.tostring(root, encoding="unicode")


def with_group_stopped(cib: str) -> str:
    """The group stopped by the admin (target-role=Stopped), as during the first install or a storage grow."""
    return _with_group_meta(cib, "target-role", "Stopped")
