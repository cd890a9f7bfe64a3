"""A LUN added to a live cluster (issue 15, item 2), on a fake host (tests/hostsim): refused unless the stack
says it is a maintenance window; done by the node running the group, whichever it is, never by the other;
the new Filesystem goes into the live group at its place held stopped, so the services after it (the
directory's possible writers) stop, and only then is the active node's directory copied onto the new
filesystem; then the member is released and pacemaker mounts it and starts the services again."""
from __future__ import annotations

import copy
import fnmatch
import xml.etree.ElementTree as ET

from components.names import GROUP_ID, VIP_ID, by_path_device, fs_id
from components.render import node_scripts
from components.render.cib import render_cib
from components.render.iscsi_initiator import iscsid_conf, login_script
from tests.hostsim import Host, Reply
from tests.stacks import settings_with
from tools.stackfile import read_stack_config

EXTRA = "/var/spool/bm-filehosting"


def _dev(window: bool, extra: bool = True):
    config, _ = read_stack_config("dev")
    storage = copy.deepcopy(config["storage"])
    storage["maintenance_window"] = window
    if extra:
        storage["extra_directories"] = [EXTRA]
    return settings_with("dev", storage=storage)


BEFORE = _dev(window=False, extra=False)  # the live cluster, as the last pulumi up left it
NEW = next(lun for lun in _dev(window=True).storage.luns if lun.directory == EXTRA)
NEW_FS = fs_id(NEW)


def _live_cluster(s, runs_on: str | None, writers_run: str = "") -> dict:
    """Pacemaker answers; its CIB has the group (BEFORE's) but no Filesystem for the new LUN; the group runs
    on `runs_on`. blkid: the new LUN is blank until mkfs, every other LUN holds its labelled filesystem."""
    blkid, links = [], []
    for i, lun in enumerate(s.storage.luns):
        dev, real = by_path_device(s, lun), f"/dev/sd{chr(ord('b') + i)}"
        if lun == NEW:
            blkid.append((f"-p -s TYPE -o value {dev}", Reply(rc=2)))
        else:
            blkid.append((f"-p -s TYPE -o value {dev}", Reply("xfs\n")))
        blkid += [(f"-p -s LABEL -o value {dev}", Reply(lun.fs_label + "\n")),
                  (f"-c /dev/null -t LABEL={lun.fs_label} -o device", Reply(real + "\n"))]
        links += [(f"-f {dev}", Reply(real + "\n")), (f"-f {real}", Reply(real + "\n")),
                  (f"-f /dev/disk/by-label/{lun.fs_label}", Reply(real + "\n"))]
    return {
        "blkid": blkid, "readlink": links,
        "cibadmin": [("--query --scope nodes", Reply()),
                     (f"--query --xpath //primitive?@id='{NEW_FS}'?", Reply(rc=1)),  # a glob: ? for [ ]
                     ("--query --xpath //nvpair*", Reply(rc=1)),
                     ("--query --xpath *", Reply()),
                     ("--query", Reply(render_cib(BEFORE)))],
        # The CIB the step patches in: kept for the test to read.
        "crm_diff": [("*", Reply(rc=1, run='cp "$4" "$HOSTSIM_STUBS/new.xml"'))],
        "crm_resource": [(f"--resource {GROUP_ID} --locate --quiet", Reply(f"{runs_on}\n" if runs_on else "")),
                         ("--resource svc-bm-pimp --locate --quiet", Reply(writers_run))],
    }


def _run(tmp_path, s, node, **scenario):
    host = Host(tmp_path, _live_cluster(s, **scenario))
    return host, host.run(node_scripts.filesystems(s, node))


def test_a_new_lun_on_a_live_cluster_is_refused_outside_a_maintenance_window(tmp_path):
    s = _dev(window=False)
    _, run = _run(tmp_path, s, s.nodes[0], runs_on=s.nodes[0].name)
    assert run.returncode == 1
    assert f"{EXTRA}: its LUN is new to the live cluster" in run.stderr
    assert "set storage.maintenance_window: true" in run.stderr and "run pulumi up" in run.stderr
    assert not run.called("mkfs*") and not run.called("mount *") and not run.called("cibadmin --patch *")


def test_the_node_not_running_the_group_leaves_the_new_lun_alone(tmp_path):
    """The primary, while the group runs on the secondary: its local directory is not the data."""
    s = _dev(window=True)
    _, run = _run(tmp_path, s, s.nodes[0], runs_on=s.nodes[1].name)
    assert run.returncode == 0, run.output
    assert not run.called("mkfs*") and not run.called("mount *") and not run.called("cibadmin --patch *")
    assert f"{EXTRA}: created and labelled by {s.nodes[1].name}, where the group runs" in run.stdout


def test_the_node_running_the_group_seeds_the_new_lun_with_its_writers_stopped(tmp_path):
    s = _dev(window=True)
    node = s.nodes[1]  # not the primary: the group runs there
    host, run = _run(tmp_path, s, node, runs_on=node.name)
    assert run.returncode == 0, run.output
    dev = by_path_device(s, NEW)
    lines = run.lines()
    order = [f"mkfs.xfs -q -L {NEW.fs_label} {dev}", "cibadmin --patch --xml-file *",
             "crm_resource --wait *", "crm_resource --resource svc-bm-pimp --locate --quiet", f"mount {dev} *",
             "umount *", f"crm_resource --resource {NEW_FS} --meta --delete-parameter target-role",
             "crm_resource --wait *"]
    at = -1
    for pattern in order:  # each call after the one before it
        at = next((i for i in range(at + 1, len(lines)) if fnmatch.fnmatchcase(lines[i], pattern)), None)
        assert at is not None, f"{pattern} not after the calls before it:\n" + "\n".join(lines)
    assert run.lines("mkfs.xfs") == [order[0]]  # no other LUN touched
    # The member went in right after the VIP, before the first service, held stopped.
    group = ET.fromstring((host.stubs / "new.xml").read_text()).find(f".//group[@id='{GROUP_ID}']")
    ids = [m.get("id") for m in group]
    assert ids[ids.index(VIP_ID) + 1] == NEW_FS and ids[ids.index(NEW_FS) + 1] == "svc-bm-pimp"
    held = group.find(f"primitive[@id='{NEW_FS}']/meta_attributes/nvpair[@name='target-role']")
    assert held is not None and held.get("value") == "Stopped"
    assert f"seeded from {EXTRA} on {node.name}" in run.stdout


def test_the_new_lun_is_not_seeded_while_a_writer_still_runs(tmp_path):
    s = _dev(window=True)
    node = s.nodes[0]
    _, run = _run(tmp_path, s, node, runs_on=node.name, writers_run=f"{node.name}\n")
    assert run.returncode == 1
    assert f"svc-bm-pimp still runs on {node.name}: {EXTRA} is not copied while its writers run" in run.stderr
    assert not run.called(f"mount {by_path_device(s, NEW)} *")
    assert not run.called("crm_resource * --delete-parameter target-role")


def test_a_new_lun_waits_when_pacemaker_does_not_answer_here(tmp_path):
    """A CIB on disk only: the peer may run the group; this node cannot tell where the data is."""
    s = _dev(window=True)
    scenario = _live_cluster(s, runs_on=None)
    scenario["cibadmin"] = [("--query --scope nodes", Reply(rc=1)), *scenario["cibadmin"][1:]]
    run = Host(tmp_path, scenario, files={"/var/lib/pacemaker/cib/cib.xml": render_cib(BEFORE)}).run(
        node_scripts.filesystems(s, s.nodes[0]))
    assert run.returncode == 1
    assert "pacemaker does not answer" in run.stderr and "start the cluster" in run.stderr
    assert not run.called("mkfs*")


def test_a_live_session_is_rescanned_so_the_new_lun_appears(tmp_path):
    """The node is logged in already; the target has a new LUN, which the kernel sees only after a rescan."""
    s = _dev(window=True)
    devices = [by_path_device(s, lun) for lun in s.storage.luns]
    new = by_path_device(s, NEW)
    session = f"tcp: [1] {s.storage.portal},1 {s.storage.target_iqn} (non-flash)\n"
    host = Host(tmp_path, {"iscsiadm": [("-m session", Reply(session)), ("* -S", Reply("node.name = x\n")),
                                        ("* --rescan", Reply(run=f"mknod {new} b 7 0"))]},
                block_devices=[d for d in devices if d != new])
    script = login_script(s, s.nodes[0]).replace("\ndevice_wait=60\n", "\ndevice_wait=2\n")
    run = host.run(script, stdin=iscsid_conf(s, "chap-secret-1", "mutual-secret-2"))
    assert run.returncode == 0, run.output
    assert run.called("iscsiadm -m node -T * --rescan") and not run.called("iscsiadm * --login")
