"""The storage watch as rendered: the clone in every CIB with the storage's own target, portals and LUN
devices; the group ordered after it everywhere, colocated with it only where fencing makes a move safe; its
recovery_wait the iSCSI replacement_timeout iscsid.conf gets; its op timeouts room for that wait; the agent
installed and removed by the cluster-agents step."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from components.agents import ISCSI_WATCH_AGENT_PATH, ISCSI_WATCH_AGENT_SOURCE
from components.names import GROUP_ID, ISCSI_WATCH_CLONE_ID, ISCSI_WATCH_ID, by_path_device, mounted_device
from components.render import deletes, node_scripts
from components.render.cib import render_cib
from components.render.iscsi_initiator import iscsid_conf
from tests.stacks import CIB_CONFIGS, settings_of


def _watch(cib: ET.Element) -> ET.Element:
    return cib.find(f".//resources/clone[@id='{ISCSI_WATCH_CLONE_ID}']/primitive[@id='{ISCSI_WATCH_ID}']")


@pytest.mark.parametrize("name", CIB_CONFIGS)
def test_the_watch_checks_the_storages_own_sessions_and_luns(name):
    s = settings_of(name)
    cib = ET.fromstring(render_cib(s))
    watch = _watch(cib)
    assert (watch.get("class"), watch.get("provider"), watch.get("type")) == ("ocf", "bluemind-ha", "iscsi_watch")
    params = {nv.get("name"): nv.get("value") for nv in watch.findall("instance_attributes/nvpair")}
    filesystems = [p.find("instance_attributes/nvpair[@name='device']").get("value")
                   for p in cib.iterfind(f".//group[@id='{GROUP_ID}']/primitive[@type='Filesystem']")]
    # The watch checks each LUN's own device; the Filesystem resources mount what stands for it (its label).
    assert params["devices"].split() == [by_path_device(s, lun) for lun in s.storage.luns]
    assert filesystems == [mounted_device(s, lun) for lun in s.storage.luns]
    assert params["target"] == s.storage.target_iqn and params["portals"].split() == list(s.storage.portals)
    assert watch.find("meta_attributes/nvpair[@name='migration-threshold']").get("value") == "1"


@pytest.mark.parametrize("name", CIB_CONFIGS)
def test_the_group_is_ordered_after_the_watch_and_colocated_with_it_only_when_fenced(name):
    s = settings_of(name)
    constraints = ET.fromstring(render_cib(s)).find(".//constraints")
    order = constraints.findall(f"rsc_order[@first='{ISCSI_WATCH_CLONE_ID}'][@then='{GROUP_ID}']")
    # Optional: it orders the starts of one transition, and never restarts the group for a watch that returns
    assert len(order) == 1 and order[0].get("kind") == "Optional"
    colocation = constraints.findall(f"rsc_colocation[@rsc='{GROUP_ID}'][@with-rsc='{ISCSI_WATCH_CLONE_ID}']")
    assert [c.get("score") for c in colocation] == (["INFINITY"] if s.fenced else [])


def _seconds(value: str) -> int:
    return int(value.removesuffix("s"))


@pytest.mark.parametrize("name", CIB_CONFIGS)
def test_the_watch_waits_as_long_as_the_kernel_holds_io_and_its_ops_leave_room_for_it(name):
    s = settings_of(name)
    conf = iscsid_conf(s, "secret", "mutual-secret")
    replacement = int(re.search(r"^node\.session\.timeo\.replacement_timeout = (\d+)$", conf, re.M).group(1))
    watch = _watch(ET.fromstring(render_cib(s)))
    wait = int(watch.find("instance_attributes/nvpair[@name='recovery_wait']").get("value"))
    assert wait == replacement == s.storage.replacement_timeout_s
    agent = ISCSI_WATCH_AGENT_SOURCE.read_text()
    round_s = int(re.search(r"^ROUND_TIMEOUT_S=(\d+)", agent, re.M).group(1))
    margin_s = int(re.search(r"^MARGIN_S=(\d+)", agent, re.M).group(1))
    for op in ("start", "monitor"):
        timeout = _seconds(watch.find(f"operations/op[@name='{op}']").get("timeout"))
        assert wait + round_s + margin_s <= timeout, op  # else the agent cuts its wait short


def test_the_cluster_agents_step_installs_the_watch_and_its_delete_removes_it():
    s = settings_of("dev")
    node = s.nodes[0]
    assert ISCSI_WATCH_AGENT_SOURCE.read_text() in node_scripts.cluster_agents(s, node)
    assert ISCSI_WATCH_AGENT_PATH in node_scripts.cluster_agents(s, node)
    assert ISCSI_WATCH_AGENT_PATH in deletes.cluster_agents_delete(s, node)
