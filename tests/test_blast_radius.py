"""One setting changed at a time on dev and prod: exactly which resources `pulumi up` would touch, and that
nothing is replaced unless the change needs it (tools/blast_radius.py holds the edits; the README's table
comes from `python -m tools.blast_radius`)."""
from __future__ import annotations

import re

import pytest

from tools.blast_radius import CASES, blast


def _update_chain(primary: str, secondary: str) -> tuple[set[str], set[str]]:
    """A new release (version or repository) runs the update chain's steps only: maintenance on and off and
    the cluster check on the primary, packages and post-install on both nodes. The first install's step
    keeps its creation-time input (ignored), so it never runs again."""
    return ({f"{primary}-update-maintenance-on", f"{primary}-update-maintenance-off", f"{primary}-update-check",
             f"{primary}-update-packages", f"{secondary}-update-packages",
             f"{primary}-update-post-install", f"{secondary}-update-post-install"}, set())


# (stack, case) -> (resources updated or replaced, of which replaced)
EXPECTED = {
    # The VIP lives in the CIB and in each node's firewall (BlueMind's ports are open on the VIP only): the
    # primary's push and the two firewall steps, nothing else (not the update chain, not cloud-init).
    ("dev", "vip"): ({"bm1-cib-push", "bm1-firewall", "bm2-firewall"}, set()),
    ("prod", "vip"): ({"bm-prod-a-cib-push", "bm-prod-a-firewall", "bm-prod-b-firewall"}, set()),
    # libvirt cannot resize a running domain (memory is ForceNew): the two node VMs are replaced, their
    # disks kept. On bare metal RAM is only checked against the sizing tables: nothing to do.
    ("dev", "ram"): ({"bluemind-lab-bm1", "bluemind-lab-bm2"}, {"bluemind-lab-bm1", "bluemind-lab-bm2"}),
    ("prod", "ram"): (set(), set()),
    # The logical volume grows and tgt re-reads its LUNs; the lab's LUN disk and storage VM stay.
    ("dev", "lun"): ({"bm-storage-storage-volumes", "bm-storage-storage-target"}, set()),
    # An external SAN's LUN is grown on the SAN: the plan declares nothing that holds its size.
    ("prod", "lun"): (set(), set()),
    # bm1's BMC password: VirtualBMC of bm1 learns it, and bm2, which fences bm1, stores it.
    ("dev", "ipmi_password"): ({"hypervisor-virtualbmc-bm1", "bm2-bmc-password"}, set()),
    ("prod", "ipmi_password"): ({"bm-prod-b-bmc-password"}, set()),
    ("dev", "token"): ({"bm1-corosync-conf", "bm2-corosync-conf"}, set()),
    ("prod", "token"): ({"bm-prod-a-corosync-conf", "bm-prod-b-corosync-conf"}, set()),
    ("dev", "version"): _update_chain("bm1", "bm2"),
    ("dev", "repository"): _update_chain("bm1", "bm2"),
    ("prod", "version"): _update_chain("bm-prod-a", "bm-prod-b"),
    ("prod", "repository"): _update_chain("bm-prod-a", "bm-prod-b"),
}
SYNC_CONFIG = re.compile(r"^(bm1|bm2|bm-prod-a|bm-prod-b)-sync-[a-z-]+$")


@pytest.mark.parametrize("stack,case", sorted(EXPECTED))
def test_one_setting_touches_exactly_its_resources(stack, case):
    touched, replaced = EXPECTED[(stack, case)]
    diff = blast(stack, CASES[stack][case].edit)
    assert diff.touched == touched
    assert diff.replaced == replaced
    assert not diff.added and not diff.removed


def test_growing_a_lab_lun_never_replaces_the_disk_holding_every_lun():
    diff = blast("dev", CASES["dev"]["lun"].edit)
    luns_disk = next(c for c in diff.changed if c.name == "bluemind-lab-bm-storage-luns")
    assert luns_disk.ignored_inputs == ("size",) and not luns_disk.replaced
    assert "bluemind-lab-bm-storage" not in diff.touched


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_new_release_never_reruns_the_first_install(stack):
    ignored = {c.name: c.ignored_inputs for c in blast(stack, CASES[stack]["version"].edit).changed if c.ignored_inputs}
    assert set(ignored.values()) == {("stdin",)} and all(n.endswith("-bluemind-packages") for n in ignored)
    repository = blast(stack, CASES[stack]["repository"].edit)
    assert repository.touched and all("-update-" in n for n in repository.touched)
    assert not [c for c in repository.changed if c.ignored_inputs]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_renewed_subscription_only_rewrites_the_apt_source_and_upgrades_nothing(stack):
    diff = blast(stack, CASES[stack]["subscription"].edit)
    assert len(diff.touched) == 2 and all(n.endswith("-bluemind-apt-source") for n in diff.touched)
    assert not diff.replaced


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_sync_path_touches_only_the_config_sync(stack):
    diff = blast(stack, CASES[stack]["sync_path"].edit)
    assert diff.touched, "a new path must reach lsyncd's configuration"
    assert {n for n in diff.touched if not SYNC_CONFIG.match(n)} == set()
    assert diff.replaced == set()
