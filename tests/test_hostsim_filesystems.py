"""The filesystems steps on a fake host (tests/hostsim), before any cluster exists and on a re-run: the mkfs
guard both ways, and each filesystem found by its label, never by its LUN number (issue 15, item 4): mkfs
labels it, an earlier version's unlabelled filesystem is labelled once when that is safe, a filesystem
labelled for another directory (a renumbered LUN) is refused, and filesystem-labels.sh checks that the label
leads to that LUN and nothing else."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from components.names import by_label_device, by_path_device, fs_id, legacy_fs_label
from components.render import node_scripts
from components.render.cib import render_cib
from components.render.cib_nvsets import INSTANCE, nvpair_value
from tests.hostsim import Host, Reply
from tests.stacks import settings_of

PROD = settings_of("prod")
# No cluster yet: pacemaker does not answer and there is no CIB on disk (hidden by the harness).
NO_CLUSTER = [("*", Reply(rc=1))]


def _devices(s):
    return [by_path_device(s, lun) for lun in s.storage.luns]


def _holding(s, fstype, labels=None, others=()):
    """blkid answers: every LUN holds `fstype`, labelled as `labels` says (default: its own label)."""
    labels = labels or {}
    rules = []
    for lun in s.storage.luns:
        dev = by_path_device(s, lun)
        rules += [(f"-p -s TYPE -o value {dev}", Reply(f"{fstype}\n")),
                  (f"-p -s LABEL -o value {dev}", Reply(labels.get(lun.directory, lun.fs_label) + "\n"))]
    return rules + [("-c /dev/null -t LABEL=* -o device", Reply("".join(f"{o}\n" for o in others)))]


def _primary(tmp_path, blkid, s=PROD, **stubs):
    return Host(tmp_path, {"blkid": blkid, "cibadmin": NO_CLUSTER, **stubs}).run(node_scripts.filesystems(s, s.nodes[0]))


# --- the mkfs guard (as it was) --------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["prod", "lab"])  # xfs, ext4
def test_mkfs_only_on_devices_without_a_signature(tmp_path, stack):
    s = settings_of(stack)
    devices = _devices(s)
    fresh, used = devices[0], devices[1]
    run = _primary(tmp_path, [(f"-p -s TYPE -o value {used}", Reply("xfs\n")),
                              (f"-p -s LABEL -o value {used}", Reply(s.storage.luns[1].fs_label + "\n")),
                              ("*", Reply(rc=2))], s)
    assert run.returncode == 0, run.output
    mkfs = f"mkfs.{s.storage.fstype}"
    made = [c.args[-1] for c in run.calls if c.name == mkfs]
    assert made == [d for d in devices if d != used]
    assert f"{used} already holds xfs: kept" in run.stdout
    lun0 = s.storage.luns[0]
    assert f"{mkfs} -q -L {lun0.fs_label} {fresh}" in run.lines(mkfs)
    assert not run.called("mkfs.ext4 *" if s.storage.fstype == "xfs" else "mkfs.xfs *")
    # Each new filesystem is mounted on a seed directory, filled from its directory, unmounted.
    assert [c.args[0] for c in run.calls if c.name == "mount"] == made


def test_mkfs_never_on_any_device_that_holds_a_filesystem(tmp_path):
    run = _primary(tmp_path, _holding(PROD, "xfs"))
    assert run.returncode == 0, run.output
    assert not run.called("mkfs*") and not run.lines("mount")
    assert run.stdout.count("already holds xfs: kept") == len(PROD.storage.luns)
    assert not run.called("xfs_admin *") and not run.called("e2label *") and not run.called("xfs_io *")


@pytest.mark.parametrize("rc", [1, 4, 8])
def test_mkfs_refused_when_blkid_cannot_read_the_device(tmp_path, rc):
    run = _primary(tmp_path, [("*", Reply(rc=rc))])
    assert run.returncode == 1
    assert f"blkid could not read {_devices(PROD)[0]} (exit {rc}): refusing to touch it" in run.stderr
    assert not run.called("mkfs*")


def test_mkfs_refused_on_a_mounted_device(tmp_path):
    device = _devices(PROD)[0]
    run = Host(tmp_path, {"blkid": [("*", Reply(rc=2))], "cibadmin": NO_CLUSTER}, mounted=[device]).run(
        node_scripts.filesystems(PROD, PROD.nodes[0]))
    assert run.returncode == 1
    assert f"{device} is mounted: refusing mkfs" in run.stderr
    assert not run.called("mkfs*")


def test_before_the_cluster_exists_the_secondary_never_runs_blkid_or_mkfs(tmp_path):
    run = Host(tmp_path, {"blkid": [("*", Reply(rc=2))], "cibadmin": NO_CLUSTER}).run(
        node_scripts.filesystems(PROD, PROD.nodes[1]))
    assert run.returncode == 0, run.output
    assert not run.called("blkid *") and not run.called("mkfs*") and not run.called("mount *")


# --- located by label ------------------------------------------------------------------------------------------

def test_the_filesystem_resources_mount_a_label_never_a_lun_number():
    resources = ET.fromstring(render_cib(PROD)).find("configuration/resources")
    devices = {p.get("id"): nvpair_value(p, INSTANCE, "device") for p in resources.iter("primitive")
               if p.get("type") == "Filesystem"}
    assert devices == {fs_id(lun): by_label_device(lun) for lun in PROD.storage.luns}


@pytest.mark.parametrize("fstype, tool", [("xfs", "xfs_admin -L {label} {dev}"), ("ext4", "e2label {dev} {label}")])
def test_an_unlabelled_filesystem_is_labelled_once_while_mounted_nowhere(tmp_path, fstype, tool):
    s = PROD if fstype == "xfs" else settings_of("lab")
    lun = s.storage.luns[0]
    dev = by_path_device(s, lun)
    run = _primary(tmp_path, _holding(s, fstype, {lun.directory: ""}), s)
    assert run.returncode == 0, run.output
    assert run.lines(tool.split()[0]) == [tool.format(label=lun.fs_label, dev=dev)]
    assert f"{dev}: labelled {lun.fs_label} (was unlabelled)" in run.stdout
    assert not run.called("mkfs*")


def test_an_unlabelled_filesystem_mounted_here_is_labelled_through_the_kernel(tmp_path):
    lun = PROD.storage.luns[0]
    dev = by_path_device(PROD, lun)
    run = _primary(tmp_path, _holding(PROD, "xfs", {lun.directory: ""}),
                   findmnt=[(f"-n -o TARGET --source {dev}", Reply(lun.directory + "\n"))])
    assert run.returncode == 0, run.output
    assert run.lines("xfs_io") == [f"xfs_io -c 'label -s {lun.fs_label}' {lun.directory}"]
    assert not run.called("xfs_admin *")


def test_an_earlier_versions_label_is_adopted(tmp_path):
    lun = PROD.storage.luns[0]
    run = _primary(tmp_path, _holding(PROD, "xfs", {lun.directory: legacy_fs_label(lun)}))
    assert run.returncode == 0, run.output
    assert run.called(f"xfs_admin -L {lun.fs_label} *")


def test_a_filesystem_labelled_for_another_directory_is_refused_untouched(tmp_path):
    """LUN 1 renumbered on the SAN: the device the stack gives /var/spool/bm-docs holds cyrus' filesystem."""
    first, cyrus = PROD.storage.luns[0], next(lun for lun in PROD.storage.luns if lun.directory == "/var/spool/cyrus")
    run = _primary(tmp_path, _holding(PROD, "xfs", {first.directory: cyrus.fs_label}))
    assert run.returncode == 1
    assert f"labelled '{cyrus.fs_label}', not '{first.fs_label}'" in run.stderr
    assert "another directory's data" in run.stderr
    assert not run.called("xfs_admin *") and not run.called("xfs_io *") and not run.called("mkfs*")


def test_a_label_already_on_another_device_is_not_given_twice(tmp_path):
    lun = PROD.storage.luns[0]
    run = _primary(tmp_path, _holding(PROD, "xfs", {lun.directory: ""}, others=["/dev/sdz"]))
    assert run.returncode == 1
    assert f"the label {lun.fs_label} is already on /dev/sdz" in run.stderr
    assert not run.called("xfs_admin *")


# --- filesystem-labels.sh: on both nodes, the label leads to that LUN and nothing else --------------------------

def _labels_run(tmp_path, holders=None, by_label=None, **stubs):
    s = PROD
    rules, links = _holding(s, "xfs")[:-1], []
    for i, lun in enumerate(s.storage.luns):
        dev, real = by_path_device(s, lun), f"/dev/sd{chr(ord('b') + i)}"
        rules.append((f"-c /dev/null -t LABEL={lun.fs_label} -o device", Reply((holders or {}).get(i, real) + "\n")))
        links += [(f"-f {dev}", Reply(real + "\n")), (f"-f {real}", Reply(real + "\n")),
                  (f"-f {by_label_device(lun)}", Reply((by_label or {}).get(i, real) + "\n"))]
    return Host(tmp_path, {"blkid": rules, "readlink": links, **stubs}).run(node_scripts.filesystem_labels(s, s.nodes[1]))


def test_the_label_check_passes_when_each_label_leads_to_its_lun(tmp_path):
    run = _labels_run(tmp_path)
    assert run.returncode == 0, run.output
    dev = by_path_device(PROD, PROD.storage.luns[0])
    # Read afresh: the peer wrote the filesystem, and udev probes again only on an event.
    calls = [line for line in run.lines() if not line.startswith("findmnt ")]
    assert calls[:2] == [f"blockdev --flushbufs {dev}", f"udevadm trigger --action=change --settle {dev}"]


def test_the_label_check_leaves_the_buffers_of_a_lun_mounted_here_alone(tmp_path):
    lun = PROD.storage.luns[0]
    dev = by_path_device(PROD, lun)
    run = _labels_run(tmp_path, findmnt=[(f"-n -o TARGET --source {dev}", Reply(lun.directory + "\n"))])
    assert run.returncode == 0, run.output
    assert not run.called(f"blockdev --flushbufs {dev}") and run.called("blockdev --flushbufs *")


def test_the_label_check_fails_when_another_disk_carries_the_label(tmp_path):
    run = _labels_run(tmp_path, holders={0: "/dev/sdb\n/dev/sdq"})
    assert run.returncode == 1
    assert f"the label {PROD.storage.luns[0].fs_label} is on /dev/sdb and /dev/sdq" in run.stderr


def test_the_label_check_fails_when_udev_leads_the_label_elsewhere(tmp_path):
    run = _labels_run(tmp_path, by_label={0: "/dev/sdq"})
    assert run.returncode == 1
    assert f"{by_label_device(PROD.storage.luns[0])} does not lead to /dev/sdb" in run.stderr
