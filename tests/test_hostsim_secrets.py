"""Every file a host script writes with a secret in it, for every stack: each secret-carrying step runs on a
fake host (tests/hostsim) with its real rendered stdin, then every file written that holds a secret must be
in the list below (written here, from where the README and the tools document them), root's, with its mode.
The secret must not appear in the step's output either."""
from __future__ import annotations

import base64

import pytest

from components.names import by_path_device
from components.render import node_scripts, storage_scripts, sync_scripts
from components.render.iscsi_initiator import iscsid_conf, login_script
from components.render.tgt import render_targets_conf
from components.render.update import apt_source_line
from components.render.vbmc import vbmc_config, vbmc_script
from tests.hostsim import Host, Reply
from tests.stacks import STACK_NAMES, settings_of

CHAP = "chapSecret0123"
MUTUAL = "mutualSecret4567"
BMC = "bmcPw-{node}"
AUTHKEY = bytes(range(128))
URL = "https://pkg.bluemind.net/subscription-0123456789abcdef/bluemind/5"


def expected_node_secrets(s, node) -> dict[str, int]:
    """path -> mode of every file holding a secret that a cluster node's steps write."""
    peer = next(n for n in s.nodes if n != node)
    files = {"/etc/iscsi/iscsid.conf": 0o600,                      # the CHAP secret
             "/etc/corosync/authkey": 0o400,                       # corosync's key
             "/etc/apt/sources.list.d/bluemind.list": 0o600,       # the subscription's URL
             "/root/.ssh/bluemind-ha-sync": 0o600}                 # lsyncd's private key
    if peer.bmc:
        files[f"/etc/bluemind-ha/bmc/{peer.name}.password"] = 0o600  # the peer's BMC password
    return files


def _secrets(s, node) -> list[bytes]:
    peer = next(n for n in s.nodes if n != node)
    return [CHAP.encode(), MUTUAL.encode(), AUTHKEY, URL.encode(), BMC.format(node=peer.name).encode(), b"PRIVATE KEY"]


def _node_host(tmp_path, s):
    real_keygen = Reply(run='exec /usr/bin/ssh-keygen "$@"')
    return Host(tmp_path, {
        "ssh-keygen": [("*", real_keygen)],
        "iscsiadm": [("-m session", Reply("")),
                     ("* -S", Reply("node.name = x\nnode.session.auth.authmethod = None\n"))],
    }, files={"/etc/ssh/ssh_host_ed25519_key.pub": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFak3 root@host\n"},
        block_devices=[by_path_device(s, lun) for lun in s.storage.luns])


@pytest.mark.parametrize("stack", STACK_NAMES)
@pytest.mark.parametrize("index", [0, 1])
def test_node_secret_files(tmp_path, stack, index):
    s = settings_of(stack)
    node = s.nodes[index]
    peer = s.peer_of(node)
    host = _node_host(tmp_path, s)
    steps = [
        (node_scripts.bluemind_apt_source(s, node), apt_source_line(URL)),
        (node_scripts.corosync_authkey(s, node), base64.b64encode(AUTHKEY).decode()),
        (login_script(s, node), iscsid_conf(s, CHAP, MUTUAL)),
        (sync_scripts.sync_key(s, node), ""),
    ]
    if peer.bmc:
        steps.append((node_scripts.bmc_password(s, node), BMC.format(node=peer.name)))
    runs = []
    for script, stdin in steps:
        run = host.run(script, stdin=stdin)
        assert run.returncode == 0, run.output
        runs.append(run)
    written = runs[-1].files  # the host keeps every earlier step's files
    holding = {path for path, f in written.items()
               if f.content is not None and any(secret in f.content for secret in _secrets(s, node))}
    expected = expected_node_secrets(s, node)
    assert holding == set(expected)
    for path, mode in expected.items():
        assert (oct(written[path].mode), written[path].uid, written[path].gid) == (oct(mode), 0, 0), path
    if peer.bmc:
        assert runs[-1].dirs["/etc/bluemind-ha/bmc"].mode == 0o700
    printed = "".join(r.stdout + r.stderr for r in runs)
    for secret in (CHAP, MUTUAL, URL, BMC.format(node=peer.name)):
        assert secret not in printed


@pytest.mark.parametrize("stack", [n for n in STACK_NAMES if settings_of(n).storage.kind == "tgt"])
def test_storage_host_secret_files(tmp_path, stack):
    s = settings_of(stack)
    run = Host(tmp_path, {"tgtadm": [("--lld iscsi --op show --mode target", Reply(""))]}).run(
        storage_scripts.storage_targets(s), stdin=render_targets_conf(s, CHAP, MUTUAL))
    for secret in (CHAP, MUTUAL):
        holding = {p for p, f in run.files.items() if f.content and secret.encode() in f.content}
        assert holding == {"/etc/tgt/conf.d/bluemind-ha.conf"}
    conf = run.files["/etc/tgt/conf.d/bluemind-ha.conf"]
    assert (conf.mode, conf.uid, conf.gid) == (0o600, 0, 0)
    assert CHAP not in run.stdout + run.stderr and MUTUAL not in run.stdout + run.stderr


@pytest.mark.parametrize("stack", [n for n in STACK_NAMES if settings_of(n).libvirt is not None])
@pytest.mark.parametrize("index", [0, 1])
def test_hypervisor_secret_files(tmp_path, stack, index):
    s = settings_of(stack)
    node = s.nodes[index]
    password = BMC.format(node=node.name)
    run = Host(tmp_path, {"vbmc": [("list *", Reply(f"{node.name} running\n"))]}).run(
        vbmc_script(s, node), stdin=vbmc_config(s, node, password))
    assert run.returncode == 0, run.output
    holding = {p for p, f in run.files.items() if f.content and password.encode() in f.content}
    assert holding == {f"/root/.vbmc/{node.name}/config"}
    config = run.files[f"/root/.vbmc/{node.name}/config"]
    assert (config.mode, config.uid, config.gid) == (0o600, 0, 0)
    assert run.dirs[f"/root/.vbmc/{node.name}"].mode == 0o700
    assert password not in run.stdout + run.stderr

