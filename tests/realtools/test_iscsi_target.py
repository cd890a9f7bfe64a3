"""The rendered tgt target, served by a real tgtd on loopback and used by libiscsi's initiator.

Proves what an admin relies on: every LUN is there under its rendered number with its declared size and
serial; only the two nodes' IQNs, with the CHAP secret, get in; a block written through one node's session
is what the other node reads; and the initiator side (iscsi_initiator.py) names the same IQNs, CHAP user,
target and LUNs as the live target.

The rendered targets.conf is loaded unchanged except for its backing stores: each logical volume
/dev/<vg>/<lun> is swapped for a sparse file of the LUN's declared size (GiB, as lvcreate -L <n>g makes).
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.names import by_path_device
from components.render.iscsi_initiator import initiatorname_iscsi, iscsid_conf, login_script
from components.render.tgt import render_targets_conf, scsi_serial
from components.settings import Settings
from tests.conftest import ROOT, require_root, require_tool
from tests.realtools.tgt_initiator import Initiator, LoginRefused, Session
from tests.realtools.tgt_target import EXTRA_DIRECTORY, Tgtd, live_target, swap_backing_stores, with_extra_directory
from tools.stackfile import load_settings

GIB = 1 << 30


def _stacks_with_own_target() -> list[str]:
    names = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    return [name for name in names if load_settings(name).storage.kind == "tgt"]


VARIANTS = {name: (lambda name=name: load_settings(name)) for name in _stacks_with_own_target()}
VARIANTS |= {f"{name}+extra_directories": (lambda name=name: with_extra_directory(name)) for name in VARIANTS}


@dataclass
class Served:
    settings: Settings
    chap_password: str
    tgtd: Tgtd
    files: dict[int, Path]
    mutual_password: str = ""

    @property
    def target(self) -> str:
        return self.settings.storage.target_iqn

    def node_initiator(self, index: int) -> Initiator:
        st = self.settings.storage
        return Initiator(self.settings.nodes[index].iqn, st.chap_username, self.chap_password,
                         st.chap_mutual_username, self.mutual_password, header_digest=True)


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def served(request, tmp_path_factory) -> Served:
    require_root()
    require_tool("tgtd", "tgtadm", "tgt-admin", "iscsi-ls", "iscsi-inq", "iscsi-readcapacity16")
    s = VARIANTS[request.param]()
    workdir = tmp_path_factory.mktemp(request.param)
    files = {}
    for lun in s.storage.luns:
        files[lun.number] = workdir / f"{lun.slug}.img"
        with open(files[lun.number], "wb") as f:
            f.truncate(lun.size_gb * GIB)  # sparse: costs no disk
    chap_password, mutual_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    conf = workdir / "targets.conf"
    conf.write_text(swap_backing_stores(render_targets_conf(s, chap_password, mutual_password), s, files))
    tgtd = Tgtd(workdir)
    try:
        tgtd.start()
        tgtd.load(conf)
        yield Served(s, chap_password, tgtd, files, mutual_password)
    finally:
        tgtd.stop()


def _listed_luns(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"^Lun:(\d+)\s+Type:DIRECT_ACCESS", output, re.M)]


def test_every_lun_is_served_under_its_rendered_number_with_its_declared_size_and_serial(served):
    s, node = served.settings, served.node_initiator(0)
    # Discovery (iscsi-ls) without mutual CHAP: tgt has no discovery account to answer with, and the nodes never
    # discover (the login step creates the node record itself).
    discovery = node.one_way()
    listing = discovery.run("iscsi-ls", discovery.url(served.tgtd.portal), "-s")
    assert listing.returncode == 0, listing.stderr
    assert f"Target:{served.target} " in listing.stdout
    assert _listed_luns(listing.stdout) == [lun.number for lun in s.storage.luns], listing.stdout
    for lun in s.storage.luns:
        url = node.url(served.tgtd.portal, served.target, lun.number)
        capacity = node.run("iscsi-readcapacity16", url)
        assert capacity.returncode == 0, capacity.stderr
        size = int(re.search(r"^Total size:(\d+)$", capacity.stdout, re.M).group(1))
        assert size == lun.size_gb * GIB == served.files[lun.number].stat().st_size, lun.directory
        serial = node.run("iscsi-inq", url, "-e", "1", "-c", "128")  # VPD page 0x80, unit serial number
        assert re.search(rf"Unit Serial Number:\[\s*{scsi_serial(lun)}\]", serial.stdout), serial.stdout
    extra = [lun for lun in s.storage.luns if lun.directory == EXTRA_DIRECTORY]
    if extra:  # the generated variant: the new directory is appended, the existing LUNs keep their numbers
        assert extra[0].number == max(lun.number for lun in s.storage.luns)


@pytest.mark.parametrize("index", [0, 1])
def test_each_node_logs_in_with_its_iqn_and_the_chap_secret(served, index):
    node = served.node_initiator(index)
    with Session(node, served.tgtd.portal, served.target, served.settings.storage.luns[0].number) as session:
        assert session.read(0, 512)  # a full login, then real I/O


def test_a_foreign_iqn_is_refused_even_with_the_chap_secret(served):
    foreign = Initiator("iqn.2026-11.example.attacker:laptop", served.settings.storage.chap_username,
                        served.chap_password)
    with pytest.raises(LoginRefused, match="Target not found"):
        Session(foreign, served.tgtd.portal, served.target, served.settings.storage.luns[0].number)
    # Discovery does not even reveal the target to it.
    listing = foreign.run("iscsi-ls", foreign.url(served.tgtd.portal))
    assert served.target not in listing.stdout


@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("secret", ["wrong", None], ids=["wrong-chap-secret", "no-chap"])
def test_a_node_without_the_right_chap_secret_is_refused(served, index, secret):
    iqn = served.settings.nodes[index].iqn
    initiator = Initiator(iqn, served.settings.storage.chap_username if secret else None,
                          secret and served.chap_password + "-" + secret)
    with pytest.raises(LoginRefused, match="Authentication failure"):
        Session(initiator, served.tgtd.portal, served.target, served.settings.storage.luns[0].number)


def test_data_written_through_one_node_is_read_back_intact_through_the_other(served):
    first, second = served.node_initiator(0), served.node_initiator(1)
    for lun in served.settings.storage.luns:
        lba = 2048 * lun.number  # a different place on each LUN
        data = os.urandom(64 * 1024)
        with Session(first, served.tgtd.portal, served.target, lun.number) as writer:
            writer.write(lba, data)
        with Session(second, served.tgtd.portal, served.target, lun.number) as reader:
            assert reader.read(lba, len(data)) == data, lun.directory
        # ... and it landed in that LUN's own backing store: LUN number and volume are paired as rendered.
        with open(served.files[lun.number], "rb") as backing:
            backing.seek(lba * 512)
            assert backing.read(len(data)) == data, lun.directory


def test_initiator_side_names_what_the_live_target_serves(served):
    s = served.settings
    live = live_target(served.tgtd.show_targets())
    conf = dict(line.split(" = ", 1) for line in iscsid_conf(s, served.chap_password, served.mutual_password)
                .splitlines() if " = " in line and not line.startswith("#"))
    assert conf["node.startup"] == "automatic"
    assert conf["node.session.auth.authmethod"] == "CHAP"
    assert live["accounts"] == [conf["node.session.auth.username"]]
    assert live["outgoing"] == [conf["node.session.auth.username_in"]]  # mutual CHAP
    for node in s.nodes:
        iqn = initiatorname_iscsi(node).removeprefix("InitiatorName=").removesuffix("\n")
        assert iqn in live["acl"] and node.ip in live["acl"]
        # The node's files, as rendered, are what gets it in.
        initiator = Initiator(iqn, conf["node.session.auth.username"], conf["node.session.auth.password"],
                              conf["node.session.auth.username_in"], conf["node.session.auth.password_in"],
                              header_digest=conf["node.conn[0].iscsi.HeaderDigest"] == "CRC32C")
        with Session(initiator, served.tgtd.portal, live["target"], live["luns"][0]):
            pass
        script = login_script(s, node)
        assert f"\nportal={s.storage.portal}\n" in script and f"\ntarget={live['target']}\n" in script
        # ... and the node record it logs in with (tests/realtools/test_storage_node_record.py runs that part)
        assert f"\nnode_record=(-m node -T {live['target']} -p {s.storage.portal})\n" in script
        expected = [f"/dev/disk/by-path/ip-{s.storage.portal}-iscsi-{live['target']}-lun-{n}" for n in live["luns"]]
        assert re.search(r"^devices=\((.*)\)$", script, re.M).group(1).split() == expected
        assert expected == [by_path_device(s, lun) for lun in s.storage.luns]
    assert sorted(live["acl"]) == sorted([n.iqn for n in s.nodes] + [n.ip for n in s.nodes])
