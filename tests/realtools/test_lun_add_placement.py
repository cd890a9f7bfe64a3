"""Where a LUN added to a live cluster goes in the group, proved with crm_simulate (issue 15, item 2): an extra
directory's Filesystem goes right after the VIP, so adding it (held stopped while the filesystems step seeds
it, then released) stops and restarts the services, which may write to it, and nothing else: the VIP and the
other filesystems keep running. The README's day-2 section says so; this test checks it says what the
scheduler does."""
from __future__ import annotations

import copy
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from components.names import ISCSI_WATCH_ID, VIP_ID, fs_id
from components.render.cib import filesystem_xml, render_cib
from components.render.shell import header, inline, script
from tests.conftest import require_tool
from tests.stacks import settings_with
from tools import crmsim
from tools.stackfile import read_stack_config

EXTRA = "/var/spool/bm-filehosting"
README = Path(__file__).resolve().parents[2] / "README.md"


def _dev(extra: bool):
    config, _ = read_stack_config("dev")
    storage = copy.deepcopy(config["storage"])
    if extra:
        storage["extra_directories"] = [EXTRA]
    return settings_with("dev", storage=storage)


def _pushed(live: str, rendered: str, held: str | None = None) -> str:
    """The settled `live` CIB with the resources and constraints of `rendered`, as the push splices them;
    `held`: a member given target-role=Stopped, as the filesystems step inserts a new LUN."""
    root, new = ET.fromstring(live), ET.fromstring(rendered)
    config, new_config = root.find("configuration"), new.find("configuration")
    for section in ("resources", "constraints"):
        config.remove(config.find(section))
        config.append(new_config.find(section))
    if held:
        primitive = config.find(f".//primitive[@id='{held}']")
        meta = ET.SubElement(primitive, "meta_attributes", id=f"{held}-seeding-meta_attributes")
        ET.SubElement(meta, "nvpair", id=f"{held}-seeding-target-role", name="target-role", value="Stopped")
    return ET.tostring(root, encoding="unicode")


def _ops(steps: list[crmsim.Step], operation: str) -> list[str]:
    """The group's and their members' operations: the storage watch restarts too when a LUN is added (its device
    list changes), which only reads and moves nothing (Optional order)."""
    return [rsc for step in steps for op, rsc, _node in step.executed if op == operation and rsc != ISCSI_WATCH_ID]


def test_adding_an_extra_lun_restarts_only_the_services():
    require_tool("crm_simulate")
    before, after = _dev(extra=False), _dev(extra=True)
    new = fs_id(next(lun for lun in after.storage.luns if lun.directory == EXTRA))
    live = crmsim.settle(render_cib(before), [n.name for n in before.nodes])
    members = [p.get("id") for p in ET.fromstring(render_cib(after)).find(".//group").findall("primitive")]
    services = members[members.index(new) + 1:]
    kept = members[:members.index(new)]
    assert kept[-1] == VIP_ID and all(m.startswith("svc-") for m in services)

    # The filesystems step inserts the member held stopped: the services stop, nothing else moves.
    held = crmsim.run_until_idle(_pushed(live, render_cib(after), held=new), quorum=True)
    assert sorted(_ops(held, "stop")) == sorted(services)
    assert new not in _ops(held, "start") and not _ops(held, "start")
    # Released: the new filesystem is mounted, then the services start again, in order; the VIP and the other
    # filesystems never stopped.
    released = crmsim.run_until_idle(_pushed(held[-1].cib, render_cib(after)), quorum=True)
    starts = _ops(released, "start")
    assert starts == [new, *services]
    assert not set(_ops(held + released, "stop")) & set(kept)

    readme = README.read_text()
    assert (f"the services (`{services[0]}` to `{services[-1]}`) stop and start again; the VIP and the other "
            "filesystems keep running") in " ".join(readme.split())


def test_the_step_inserts_the_held_member_with_the_real_tools(tmp_path):
    """lun-add.sh's insert_held_member on a settled CIB file, with the real python3, crm_verify, crm_diff and
    cibadmin: the member lands after the VIP, held; releasing it leaves the rendered primitive."""
    require_tool("crm_simulate", "crm_verify", "crm_diff", "cibadmin", "crm_resource")
    before, after = _dev(extra=False), _dev(extra=True)
    lun = next(lun for lun in after.storage.luns if lun.directory == EXTRA)
    new = fs_id(lun)
    cib = tmp_path / "cib.xml"
    cib.write_text(crmsim.settle(render_cib(before), [n.name for n in before.nodes]))
    body = header({"group": "bluemind", "settle_timeout_s": "60", "mount_by_label": "true"}) + inline("lun-add.sh") + (
        f"insert_held_member {new} \"$member\" svc-bm-pimp\n"
        f"crm_resource --resource {new} --meta --get-parameter target-role\n")
    run = subprocess.run(["bash", "-c", script("lun-add test", body)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "CIB_file": str(cib), "member": filesystem_xml(after, lun)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("Stopped")
    group = ET.parse(cib).getroot().find(".//group[@id='bluemind']")
    ids = [m.get("id") for m in group]
    assert ids[ids.index(VIP_ID) + 1] == new and ids[ids.index(new) + 1] == "svc-bm-pimp"
