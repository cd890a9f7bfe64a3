"""The storage host's rendered `storage-target` script, run as it is against a real tgtd.

It runs in a PrivateHost (its own network with only a loopback, its own /etc/tgt and tgtd control socket), so
tgtd and the script use tgt's default port and socket as on the storage host. The rendered targets.conf it
gets on stdin is changed in one way only: each logical volume is swapped for a loop device over a small
sparse file (a block device, as a logical volume is, which a test can grow).

Proves what `pulumi up` relies on: the step makes the live target what the file says on every run, not only
when the file changed; a rotated CHAP secret is applied (the old one refused, the new one accepted, a live
session goes on); a change tgt cannot make while a node is logged in (a new LUN, a grown volume) fails the
step with the maintenance-window procedure on every run, until the target is free and the step applies it.
No run prints the CHAP secret.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.render.storage_scripts import grow_filesystem_command, storage_targets
from components.render.tgt import render_targets_conf
from components.settings import Settings
from tests.conftest import require_root, require_tool
from tests.realtools.tgt_initiator import HeldSession, Initiator
from tests.realtools.tgt_target import PrivateHost, Tgtd, live_target, swap_backing_stores, with_extra_directory
from tools.stackfile import load_settings

STACK = "dev"
MIB = 1 << 20
VOLUME_SIZE = 16 * MIB
SECRET = "first-chap-secret-1"
ROTATED = "rotated-chap-secret"
MUTUAL = "first-mutual-secret-2"
MUTUAL_ROTATED = "rotated-mutual-secret"
SCRIPT_TIMEOUT_S = 60


class LoopVolume:
    """A loop device over a sparse file: what the script sees as a LUN's logical volume."""

    def __init__(self, path: Path, size: int):
        self.path = path
        with open(path, "wb") as f:
            f.truncate(size)
        self.device = subprocess.run(["losetup", "--find", "--show", str(path)], capture_output=True, text=True,
                                     check=True, timeout=10).stdout.strip()

    def grow(self, size: int) -> None:
        """As lvextend does: the device is bigger from now on."""
        with open(self.path, "r+b") as f:
            f.truncate(size)
        subprocess.run(["losetup", "--set-capacity", self.device], check=True, timeout=10)

    def detach(self) -> None:
        subprocess.run(["losetup", "--detach", self.device], timeout=10)


@dataclass
class StorageHost:
    settings: Settings
    host: PrivateHost
    tgtd: Tgtd
    volumes: dict[int, LoopVolume]

    def conf(self, chap_password: str, settings: Settings | None = None, mutual_password: str = MUTUAL) -> str:
        """The rendered targets.conf, volumes swapped."""
        s = settings or self.settings
        return swap_backing_stores(render_targets_conf(s, chap_password, mutual_password), s,
                                   {number: volume.device for number, volume in self.volumes.items()})

    def run_target_step(self, chap_password: str, settings: Settings | None = None,
                        mutual_password: str = MUTUAL) -> subprocess.CompletedProcess:
        """The rendered script with the rendered targets.conf on stdin, as pulumi up runs it."""
        result = subprocess.run(self.host.command(["bash", "-c", storage_targets(settings or self.settings)]),
                                input=self.conf(chap_password, settings, mutual_password),
                                capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S)
        for secret in (SECRET, ROTATED, MUTUAL, MUTUAL_ROTATED):
            assert secret not in result.stdout + result.stderr, "the script printed a CHAP secret"
        return result

    def node(self, index: int, chap_password: str, mutual_password: str = MUTUAL) -> Initiator:
        """Node `index` as its iscsid.conf has it: mutual CHAP, CRC32C header digests."""
        st = self.settings.storage
        return Initiator(self.settings.nodes[index].iqn, st.chap_username, chap_password, st.chap_mutual_username,
                         mutual_password, header_digest=True)

    def inquiry(self, initiator: Initiator, lun: int) -> subprocess.CompletedProcess:
        return initiator.run("iscsi-inq", initiator.url(self.tgtd.portal, self.target, lun), host=self.host)

    def hold(self, initiator: Initiator) -> HeldSession:
        return HeldSession(initiator, self.tgtd.portal, self.target, self.settings.storage.luns[0].number,
                           host=self.host)

    def served_bytes(self, lun: int) -> int:
        node = self.node(0, SECRET)
        capacity = node.run("iscsi-readcapacity16", node.url(self.tgtd.portal, self.target, lun), host=self.host)
        assert capacity.returncode == 0, capacity.stderr
        return int(re.search(r"^Total size:(\d+)$", capacity.stdout, re.M).group(1))

    @property
    def target(self) -> str:
        return self.settings.storage.target_iqn


@pytest.fixture
def storage(tmp_path) -> StorageHost:
    require_root()
    require_tool("tgtd", "tgtadm", "tgt-admin", "iscsi-inq", "iscsi-readcapacity16", "unshare", "nsenter", "losetup",
                 "blockdev")
    s = load_settings(STACK)
    volumes: dict[int, LoopVolume] = {}
    host = PrivateHost(tmp_path)
    tgtd = Tgtd(tmp_path, host)
    try:
        # Volumes for the variant with one more LUN too, so a test can add it.
        for lun in with_extra_directory(STACK).storage.luns:
            volumes[lun.number] = LoopVolume(tmp_path / f"{lun.slug}.img", VOLUME_SIZE)
        host.start()
        tgtd.start()
        yield StorageHost(s, host, tgtd, volumes)
    finally:
        tgtd.stop()
        host.stop()
        for volume in volumes.values():
            volume.detach()


def test_the_first_run_creates_the_target_and_a_rerun_with_a_node_logged_in_changes_nothing(storage):
    s = storage.settings
    first = storage.run_target_step(SECRET)
    assert first.returncode == 0, first.stderr
    live = live_target(storage.tgtd.show_targets())
    assert live["target"] == storage.target
    assert live["volumes"] == {lun.number: storage.volumes[lun.number].device for lun in s.storage.luns}
    assert sorted(live["acl"]) == sorted([n.iqn for n in s.nodes] + [n.ip for n in s.nodes])
    assert live["accounts"] == [s.storage.chap_username]
    assert live["outgoing"] == [s.storage.chap_mutual_username]
    for index in (0, 1):
        inquiry = storage.inquiry(storage.node(index, SECRET), s.storage.luns[0].number)
        assert inquiry.returncode == 0, inquiry.stdout + inquiry.stderr
    with storage.hold(storage.node(0, SECRET)) as held:
        before = storage.tgtd.show_targets()
        again = storage.run_target_step(SECRET)
        assert again.returncode == 0, again.stderr
        # The same target, LUNs, ACL and session: nothing was re-created.
        assert storage.tgtd.show_targets() == before
        assert held.read()


def test_rotated_chap_secrets_are_applied_while_a_node_is_logged_in(storage):
    lun = storage.settings.storage.luns[0].number
    assert storage.run_target_step(SECRET).returncode == 0
    with storage.hold(storage.node(0, SECRET)) as held:
        rotated = storage.run_target_step(ROTATED, mutual_password=MUTUAL_ROTATED)
        assert rotated.returncode == 0, rotated.stderr
        for index in (0, 1):
            new = storage.inquiry(storage.node(index, ROTATED, MUTUAL_ROTATED), lun)
            assert new.returncode == 0, new.stdout + new.stderr
            old = storage.inquiry(storage.node(index, SECRET, MUTUAL_ROTATED), lun)
            assert "Authentication failure" in old.stdout + old.stderr
            # a node still expecting the old mutual secret takes the target for an impostor
            old_mutual = storage.inquiry(storage.node(index, ROTATED, MUTUAL), lun)
            assert "Invalid CHAP_R response from the target" in old_mutual.stdout + old_mutual.stderr
        # CHAP is checked at login only: the session logged in with the old secrets goes on.
        assert held.read()
    live = live_target(storage.tgtd.show_targets())
    assert (live["accounts"], live["outgoing"]) == ([storage.settings.storage.chap_username],
                                                    [storage.settings.storage.chap_mutual_username])


def test_a_target_made_before_mutual_chap_and_digests_gets_both_on_the_next_run(storage):
    """A tgt target created from an earlier targets.conf (one-way CHAP, no digests) while a node is logged in:
    the step adds the mutual account and the digests without re-creating it, and new logins negotiate them."""
    s, lun = storage.settings, storage.settings.storage.luns[0].number
    earlier = "".join(line for line in storage.conf(SECRET).splitlines(keepends=True)
                      if not line.strip().startswith(("outgoinguser", "HeaderDigest", "DataDigest")))
    (storage.host.etc_tgt / "conf.d" / "earlier.conf").write_text(earlier)
    storage.tgtd.load(Path("/etc/tgt/conf.d/earlier.conf"))
    (storage.host.etc_tgt / "conf.d" / "earlier.conf").unlink()
    one_way = Initiator(s.nodes[0].iqn, s.storage.chap_username, SECRET)
    assert one_way.login_reply(storage.tgtd.portal, storage.target, lun, host=storage.host)["HeaderDigest"] == "None"
    with storage.hold(one_way) as held:
        result = storage.run_target_step(SECRET)
        assert result.returncode == 0, result.stderr
        assert held.read()
    assert live_target(storage.tgtd.show_targets())["outgoing"] == [s.storage.chap_mutual_username]
    reply = storage.node(1, SECRET).login_reply(storage.tgtd.portal, storage.target, lun, host=storage.host)
    assert (reply["HeaderDigest"], reply["DataDigest"]) == ("CRC32C", "None")


def _assert_maintenance_window(storage: StorageHost, result: subprocess.CompletedProcess) -> None:
    s = storage.settings
    assert result.returncode != 0
    assert f"{s.nodes[0].iqn} from 127.0.0.1" in result.stderr  # who is logged in
    for command in (f"iscsiadm -m node -T {storage.target} -p {s.storage.portal} --logout",
                    f"on {s.storage.host.name}: tgt-admin --update {storage.target}",
                    f"iscsiadm -m node -T {storage.target} -p {s.storage.portal} --login",
                    "crm_resource --resource bluemind --meta --delete-parameter target-role"):
        assert command in result.stderr


def test_a_new_lun_fails_the_step_on_every_run_while_a_node_is_logged_in_and_is_served_once_none_is(storage):
    more = with_extra_directory(STACK)
    new_lun = more.storage.luns[-1].number
    assert storage.run_target_step(SECRET).returncode == 0
    with storage.hold(storage.node(0, SECRET)) as held:
        for attempt in ("first run", "re-run"):
            result = storage.run_target_step(SECRET, more)
            _assert_maintenance_window(storage, result)
            assert f"not served: lun {new_lun} {storage.volumes[new_lun].device} " in result.stderr, attempt
            assert new_lun not in live_target(storage.tgtd.show_targets())["luns"], attempt
        assert held.read()
    # The maintenance window: nobody logged in, the step re-creates the target with the new LUN.
    applied = storage.run_target_step(SECRET, more)
    assert applied.returncode == 0, applied.stderr
    assert live_target(storage.tgtd.show_targets())["luns"] == [lun.number for lun in more.storage.luns]
    assert storage.inquiry(storage.node(1, SECRET), new_lun).returncode == 0


def test_a_grown_volume_fails_the_step_on_every_run_while_a_node_is_logged_in_and_is_served_once_none_is(storage):
    s = storage.settings
    lun = s.storage.luns[0]
    assert storage.run_target_step(SECRET).returncode == 0
    storage.volumes[lun.number].grow(2 * VOLUME_SIZE)
    with storage.hold(storage.node(0, SECRET)) as held:
        for attempt in ("first run", "re-run"):
            result = storage.run_target_step(SECRET)
            _assert_maintenance_window(storage, result)
            device = storage.volumes[lun.number].device
            assert re.search(rf"LUN {lun.number} served at 1[67] MB, its volume {device} now has 33 MB", result.stderr), \
                attempt
            assert grow_filesystem_command(s, lun) in result.stderr, attempt
        assert storage.served_bytes(lun.number) == VOLUME_SIZE  # tgt still serves the old size
        assert held.read()
    applied = storage.run_target_step(SECRET)
    assert applied.returncode == 0, applied.stderr
    assert storage.served_bytes(lun.number) == 2 * VOLUME_SIZE
    assert f"on the node holding the group, {grow_filesystem_command(s, lun)}" in applied.stdout
