"""The stack's picture: what it must show (sizes, BMCs, LUNs and their directories, VIP, the group in start
order, who fences whom) and that the SVG only changes when the picture does."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from components.render.cib import group_member_ids
from components.settings import parse_settings
from tools.stackfile import load_settings, read_stack_config
from tools.topology import topology_dot, write_topology


@pytest.fixture(scope="module")
def dev():
    return load_settings("dev")


def test_shows_nodes_with_sizes_bmcs_storage_luns_and_vip(dev):
    dot = topology_dot(dev)
    for node in dev.nodes:
        assert f"<B>{node.name}</B>" in dot and f"{node.cores} cores, {node.ram_gb} GB RAM" in dot
        assert f"{node.bmc.address}:{node.bmc.port}" in dot
    assert "bm-storage: tgt iSCSI target" in dot
    for lun in dev.storage.luns:
        assert f"LUN {lun.number:>2}  {lun.size_gb:>6} GB  {lun.directory}" in dot
    assert f"VIP {dev.network.vip}/{dev.network.prefix}" in dot
    assert "hypervisor 192.168.150.1" in dot


def test_lists_the_group_in_start_order(dev):
    dot = topology_dot(dev)
    positions = [dot.index(f"{i:>2}. {rsc}") for i, rsc in enumerate(group_member_ids(dev), 1)]
    assert positions == sorted(positions)


def test_each_fence_device_runs_on_the_peer_and_powers_off_its_node(dev):
    dot = topology_dot(dev)
    assert '"node bm2" -> "bmc bm1" [label="fence-bm1 runs on bm2"' in dot
    assert '"node bm1" -> "bmc bm2" [label="fence-bm2 runs on bm1"' in dot
    assert '"bmc bm1" -> "node bm1" [label="power off / on"' in dot
    assert '"bmc bm2" -> "node bm2" [label="power off / on"' in dot


def test_manual_failover_draws_no_fence_arrows():
    config, secrets = read_stack_config("prod")
    manual = parse_settings("prod", {**config, "failover": "manual"}, secrets)
    dot = topology_dot(manual)
    assert "runs on" not in dot and "power off" not in dot
    assert "no fencing: manual failover" in dot
    assert "external iSCSI SAN" in dot and "corosync link 1 10.21.0.0/30" in dot


def test_svg_is_valid_and_free_of_graphviz_version(dev, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_topology(dev, tmp_path / "a").read_bytes()
    assert first == write_topology(dev, tmp_path / "b").read_bytes()
    assert b"graphviz version" not in first
    assert ET.fromstring(first).tag == "{http://www.w3.org/2000/svg}svg"
