"""The failover lab (lab/): its one CIB transform keeps everything but the service agents, and the CI
subset of `make lab` (one crash per side and a network split, with real corosync, pacemaker, fence_ipmilan
against ipmi_sim, loop-device LUNs and PostgreSQL) loses no row, never double-mounts, and recovers."""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

from components.names import ISCSI_WATCH_ID
from components.render.cib import render_cib
from lab.transform import lab_cib
from tests.conftest import require_root, require_tool
from tests.realtools.lab_runner import LAB_TOOLS, run_lab
from tools.stackfile import load_settings

QUICK_TIMEOUT_S = 420  # the quick lab takes about 2.5 minutes


def _without_services(cib: ET.Element) -> str:
    """The CIB with every service member (svc-*) and the storage watch's primitive removed: what the transform
    must not touch (the watch's clone and constraints stay)."""
    for group in cib.iter("group"):
        for primitive in list(group.findall("primitive")):
            if primitive.get("id").startswith("svc-"):
                group.remove(primitive)
    for clone in cib.iter("clone"):
        for primitive in list(clone.findall(f"primitive[@id='{ISCSI_WATCH_ID}']")):
            clone.remove(primitive)
    return ET.tostring(cib, encoding="unicode")


def test_transform_changes_only_the_service_agents(tmp_path):
    rendered = render_cib(load_settings("lab"))
    lab = lab_cib(rendered)
    assert _without_services(ET.fromstring(lab)) == _without_services(ET.fromstring(rendered))
    agents = {p.get("id"): (p.get("class"), p.get("provider"), p.get("type")) for p in ET.fromstring(lab).iter("primitive")}
    assert agents["svc-postgresql"] == ("ocf", "heartbeat", "pgsql")
    # Nothing left that needs systemd, which the lab has not: the program's service agent is proven on its
    # own (tests/realtools/service_agent/).
    assert not [rsc for rsc, (cls, provider, _) in agents.items() if cls == "systemd" or provider == "bluemind-ha"]
    assert {agents[rsc] for rsc in agents if rsc.startswith("svc-") and rsc != "svc-postgresql"} == \
        {("ocf", "pacemaker", "Dummy")}
    assert agents[ISCSI_WATCH_ID] == ("ocf", "pacemaker", "Dummy")  # no iSCSI session in the lab
    member_order = [p.get("id") for p in ET.fromstring(lab).iter("group").__next__().findall("primitive")]
    assert member_order == [p.get("id") for p in ET.fromstring(rendered).iter("group").__next__().findall("primitive")]
    require_tool("crm_verify")
    (tmp_path / "lab.xml").write_text(lab)
    subprocess.run(["crm_verify", "--xml-file", str(tmp_path / "lab.xml")], check=True, timeout=60)


def test_quick_lab_loses_nothing_and_recovers():
    require_root()
    require_tool(*LAB_TOOLS)
    run_lab("--quick", timeout_s=QUICK_TIMEOUT_S)


class _FakeNode:
    """A node whose mount namespace holds `devices` (lines in /proc/<pid>/mountinfo's format)."""

    def __init__(self, devices: list[str]):
        self.devices = devices

    def mountinfo(self) -> str:
        return "".join(f"{40 + i} 30 7:{i} / /var/lib/x{i} rw,noatime shared:1 - ext4 {dev} rw\n"
                       for i, dev in enumerate(self.devices))


def test_the_mount_watch_catches_a_lun_mounted_on_both_nodes(tmp_path, monkeypatch):
    """The lab's pass/fail on double mounts is only worth something if the watch can see one."""
    import json
    import time

    from lab import mounts

    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"lun-1": "/dev/loop10", "lun-2": "/dev/loop11"}))
    monkeypatch.setattr(mounts, "MAPPING", mapping)
    monkeypatch.setattr(mounts, "INTERVAL_S", 0.01)
    watch = mounts.MountWatch([_FakeNode(["/dev/loop10", "/dev/loop11"]), _FakeNode(["/dev/loop11", "/dev/vda1"])])
    watch.start()
    deadline = time.monotonic() + 5
    while watch.samples < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    watch.stop()
    assert watch.doubles and all(both == frozenset({"/dev/loop11"}) for _, both in watch.doubles)
