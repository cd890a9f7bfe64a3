"""The rendered CIB and corosync.conf, proved with ClusterLabs' own tools for every stack and variant.

- crm_verify accepts each CIB once pacemaker's scheduler has brought both nodes up;
- corosync -t accepts each corosync.conf on each node (identified by its ring0 address);
- every agent parameter exists in that agent's own metadata, and every required one is set.
The failover matrix, played by crm_simulate, is proved in test_failover_matrix.py.
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
from components.render.cib_nvsets import INSTANCE, nvpairs, set_nvpair, set_nvpairs
from components.render.corosync import AUTHKEY_PATH, render_corosync
from tests.conftest import require_root, require_tool
from tests.stacks import ALL, CIB_CONFIGS, settings_of
from tools import crmsim

TIME_LIMIT_S = 60
OCF_ROOT = "/usr/lib/ocf"
FENCED_METADATA = "/usr/lib/pacemaker/pacemaker-fenced"


@functools.cache
def settled_cib(name: str) -> str:
    s = settings_of(name)
    return crmsim.settle(render_cib(s), [n.name for n in s.nodes])


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
    params = nvpairs(primitive, INSTANCE)
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
    set_nvpairs(device.find(INSTANCE), {"ip": None, "passwd": "secret", "pcmk_host_lst": "bm1", "method": "reset"})
    problems = "\n".join(_parameter_problems(device))
    assert "passwd is deprecated" in problems
    assert "pcmk_host_lst is not a parameter" in problems
    assert "method=reset is not one of" in problems
    filesystem = ET.fromstring(render_cib(settings_of("dev"))).find(".//primitive[@type='Filesystem']")
    set_nvpair(filesystem.find(INSTANCE), "device", None)
    assert any("required device is not set" in p for p in _parameter_problems(filesystem))
