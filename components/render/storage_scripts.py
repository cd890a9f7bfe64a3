"""The scripts of the storage host (storage kind `tgt`): packages, one logical volume per LUN, and the tgt
target that serves them. Pure: Settings in, bash out; stdin is named in each docstring."""
from __future__ import annotations

import shlex

from components.names import GROUP_ID, TARGETS_CONF, mounted_device
from components.render.shell import render
from components.settings import Lun, Settings


def storage_packages(s: Settings) -> str:
    return render("storage-packages.sh", f"{s.storage.host.name}: iSCSI target packages")


def storage_volumes(s: Settings) -> str:
    """One logical volume per LUN on the storage host: created once, grown when the stack asks for more,
    never shrunk (shrinking would cut a filesystem)."""
    host = s.storage.host
    return render("storage-volumes.sh", f"{host.name}: logical volumes for the LUNs", {
        "vg": host.volume_group, "physical_device": host.physical_device,
        "volumes": [lun.slug for lun in s.storage.luns], "sizes_gb": [str(lun.size_gb) for lun in s.storage.luns]})


# Holds the target's CHAP login for the milliseconds the real account is re-created (see set_chap_secret).
ROTATION_ACCOUNT = "bluemind-ha-rotation"


def grow_filesystem_command(s: Settings, lun: Lun) -> str:
    """What grows a LUN's filesystem to its device once the node sees the bigger LUN: both tools grow a
    mounted filesystem, so it runs on the node holding the group, without stopping anything."""
    if s.storage.fstype == "xfs":
        return f"xfs_growfs {shlex.quote(lun.directory)}"
    return f"resize2fs {shlex.quote(mounted_device(s, lun))}"  # what the cluster mounts: never a LUN number


def storage_targets(s: Settings) -> str:
    """stdin: targets.conf (holds the CHAP secret). Makes tgtd's live target what the file says, on every
    run: a missing target is created; the CHAP secret is set; a target that differs (LUNs, their volumes and
    sizes, ACL, account) is re-created while no initiator is logged in, and otherwise the step fails with the
    maintenance-window procedure, again on every run until the target matches."""
    st = s.storage
    return render("storage-target.sh", f"{st.host.name}: iSCSI target", {
        "target": st.target_iqn, "portal": st.portal, "conf": TARGETS_CONF, "rotation_account": ROTATION_ACCOUNT,
        "group": GROUP_ID, "storage_host": st.host.name,
        "grow_filesystem": {str(lun.number): grow_filesystem_command(s, lun) for lun in st.luns}})
