"""Issue 18 item 1, proven with a real tgtd and libiscsi: a target rendered for a stack with a storage network
admits the two nodes from their storage addresses only (a foreign address is refused even with the right IQN
and both CHAP secrets, and so is a node's client address), with mutual CHAP (a node logs in to no target that
cannot prove the mutual secret) and CRC32C header digests (what the target answers at login).

tgtd runs in a PrivateHost (a network namespace of its own) listening on all its addresses; the nodes' storage
addresses, their client addresses and a foreign one are added to its loopback. In one namespace a connection to
one of its own addresses comes from that address, so an initiator connecting to "portal" X is seen by tgt as
coming from X. The initiators are set from the rendered iscsid.conf, as the nodes are.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from components.render.iscsi_initiator import iscsid_conf
from components.render.tgt import render_targets_conf
from components.settings import Settings
from tests.conftest import require_root, require_tool
from tests.realtools.tgt_initiator import HeldSession, Initiator, LoginRefused
from tests.realtools.tgt_target import PrivateHost, Tgtd, live_target, swap_backing_stores
from tests.stacks import with_storage_network

CHAP = "node-chap-secret-1"
MUTUAL = "target-mutual-secret-2"
FOREIGN = "10.97.0.99"  # on the storage network, not a node
MIB = 1 << 20


@dataclass
class Served:
    settings: Settings
    host: PrivateHost
    tgtd: Tgtd

    @property
    def target(self) -> str:
        return self.settings.storage.target_iqn

    @property
    def lun(self) -> int:
        return self.settings.storage.luns[0].number

    def node(self, index: int) -> Initiator:
        """Node `index` with what its rendered iscsid.conf says: IQN, CHAP, mutual CHAP, header digest."""
        conf = dict(line.split(" = ", 1) for line in iscsid_conf(self.settings, CHAP, MUTUAL).splitlines()
                    if " = " in line and not line.startswith("#"))
        return Initiator(self.settings.nodes[index].iqn, conf["node.session.auth.username"],
                         conf["node.session.auth.password"], conf["node.session.auth.username_in"],
                         conf["node.session.auth.password_in"],
                         header_digest=conf["node.conn[0].iscsi.HeaderDigest"] == "CRC32C")

    def from_address(self, address: str) -> str:
        return f"{address}:{self.tgtd.port}"

    def login(self, initiator: Initiator, address: str) -> None:
        """A full login from `address` and an INQUIRY through it, in the namespace."""
        result = initiator.run("iscsi-inq", initiator.url(self.from_address(address), self.target, self.lun),
                               host=self.host)
        if result.returncode != 0:
            raise LoginRefused(result.stdout + result.stderr)

    def tgtadm(self, *args: str) -> None:
        self.tgtd.tgtadm(*args)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    require_root()
    require_tool("tgtd", "tgtadm", "tgt-admin", "iscsi-inq", "unshare", "nsenter", "ip")
    s = with_storage_network("dev")
    workdir = tmp_path_factory.mktemp("storage-network")
    files = {}
    for lun in s.storage.luns:
        files[lun.number] = workdir / f"{lun.slug}.img"
        with open(files[lun.number], "wb") as f:
            f.truncate(16 * MIB)
    conf = workdir / "targets.conf"
    conf.write_text(swap_backing_stores(render_targets_conf(s, CHAP, MUTUAL), s, files))
    host = PrivateHost(workdir)
    tgtd = Tgtd(workdir, host, listen="0.0.0.0")
    try:
        host.start()
        host.add_addresses(s.storage.portal_ip, FOREIGN, *(n.storage_ip for n in s.nodes), *(n.ip for n in s.nodes))
        tgtd.start()
        tgtd.load(conf)
        yield Served(s, host, tgtd)
    finally:
        tgtd.stop()
        host.stop()


def test_the_acl_is_the_storage_addresses_alone(served):
    live = live_target(served.tgtd.show_targets())
    assert live["acl"] == [n.storage_ip for n in served.settings.nodes]
    assert (live["accounts"], live["outgoing"]) == (["bluemind"], ["bluemind-target"])


@pytest.mark.parametrize("index", [0, 1])
def test_each_node_logs_in_from_its_storage_address_with_mutual_chap_and_header_digests(served, index):
    node = served.node(index)
    assert node.mutual_user and node.header_digest
    served.login(node, served.settings.nodes[index].storage_ip)
    reply = node.login_reply(served.from_address(served.settings.nodes[index].storage_ip), served.target,
                             served.lun, host=served.host)
    assert (reply["AuthMethod"], reply["HeaderDigest"], reply["DataDigest"]) == ("CHAP", "CRC32C", "None")


@pytest.mark.parametrize("source", ["foreign", "client address"])
def test_another_address_is_refused_even_with_the_right_iqn_and_both_secrets(served, source):
    node = served.node(0)
    address = FOREIGN if source == "foreign" else served.settings.nodes[0].ip
    with pytest.raises(LoginRefused, match="Target not found"):
        served.login(node, address)


def test_a_node_logs_in_to_no_target_without_the_mutual_secret(served):
    """An impostor target, or ours without the mutual secret: the node, which asks the target to prove itself,
    gets no login; a node that does not ask (one-way CHAP, as before) would have got one."""
    node, address = served.node(0), served.settings.nodes[0].storage_ip
    user = served.settings.storage.chap_mutual_username
    served.tgtadm("--mode", "account", "--op", "delete", "--user", user)
    try:
        with pytest.raises(LoginRefused, match="Authentication failure"):  # no answer at all
            served.login(node, address)
        served.login(node.one_way(), address)
        served.tgtadm("--mode", "account", "--op", "new", "--user", user, "--password", "impostor-secret-3")
        served.tgtadm("--mode", "account", "--op", "bind", "--tid", "1", "--user", user, "--outgoing")
        with pytest.raises(LoginRefused, match="Invalid CHAP_R response from the target"):  # a wrong answer
            served.login(node, address)
    finally:
        served.tgtadm("--mode", "account", "--op", "delete", "--user", user)
        served.tgtadm("--mode", "account", "--op", "new", "--user", user, "--password", MUTUAL)
        served.tgtadm("--mode", "account", "--op", "bind", "--tid", "1", "--user", user, "--outgoing")
    served.login(node, address)


def test_a_held_session_does_io_with_the_nodes_settings(served):
    """The same settings through the library itself (the header digest offered alone), in the namespace: a login,
    then real I/O."""
    address = served.settings.nodes[1].storage_ip
    with HeldSession(served.node(1), served.from_address(address), served.target, served.lun,
                     host=served.host) as held:
        assert held.read()
