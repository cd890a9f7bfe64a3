"""The storage and sync steps (components/scripts/*.sh) on the fake host (tests/hostsim), each branch both ways:
the iSCSI login, the lsyncd steps, the storage host's packages and volumes, the lab's VirtualBMC."""
from __future__ import annotations

import subprocess

import pytest

from components.names import by_path_device
from components.render import storage_scripts, sync_scripts
from components.render.iscsi_initiator import iscsid_conf, login_script
from components.render.lsyncd import render_lsyncd_conf
from components.render.vbmc import vbmc_config, vbmc_script, virtualbmc_delete, virtualbmc_install
from tests.hostsim import Host, Reply
from tests.stacks import settings_of

PROD, DEV = settings_of("prod"), settings_of("dev")
NODE = PROD.nodes[0]
PEER = PROD.nodes[1]


# --- iscsi-login.sh --------------------------------------------------------------------------------------------

DEVICES = [by_path_device(PROD, lun) for lun in PROD.storage.luns]
RECORD = ["-m", "node", "-T", PROD.storage.target_iqn, "-p", PROD.storage.portal]


def _iscsi(tmp_path, logged_in=False, devices=DEVICES, record=""):
    session = f"tcp: [1] {PROD.storage.portal},1 {PROD.storage.target_iqn} (non-flash)\n" if logged_in else ""
    return Host(tmp_path, {"iscsiadm": [("-m session", Reply(session)),
                                        ("* -S", Reply(record or "node.name = x\n"))]},
                block_devices=devices)


@pytest.mark.parametrize("logged_in", [False, True])
def test_iscsi_login_only_when_not_logged_in(tmp_path, logged_in):
    run = _iscsi(tmp_path, logged_in).run(login_script(PROD, NODE), stdin=iscsid_conf(PROD, "chap-secret-1", "mutual-secret-2"))
    assert run.returncode == 0, run.output
    login = " ".join(["iscsiadm", *RECORD, "--login"])
    assert (login in run.lines("iscsiadm")) is (not logged_in)
    assert run.lines("systemctl") == ["systemctl restart iscsid"]  # the files were new
    name = run.files["/etc/iscsi/initiatorname.iscsi"]
    assert (name.text, name.mode) == (f"InitiatorName={NODE.iqn}\n", 0o644)
    assert f"{len(DEVICES)} LUNs present" in run.stdout


def test_iscsi_login_with_files_and_record_in_place_restarts_nothing(tmp_path):
    conf = iscsid_conf(PROD, "chap-secret-1", "mutual-secret-2")
    record = "".join(line + "\n" for line in conf.splitlines() if line.startswith("node."))
    host = _iscsi(tmp_path, logged_in=True, record=record)
    host.run(login_script(PROD, NODE), stdin=conf)
    run = host.run(login_script(PROD, NODE), stdin=conf)
    assert run.returncode == 0, run.output
    assert run.lines("systemctl") == ["systemctl restart iscsid"], "the first run only"
    assert not [line for line in run.lines("iscsiadm") if "-o update" in line]


def test_iscsi_login_refuses_stdin_without_the_chap_secret(tmp_path):
    run = _iscsi(tmp_path).run(login_script(PROD, NODE), stdin="node.startup = manual\n")
    assert run.returncode == 1 and "must be the rendered iscsid.conf" in run.stderr
    assert run.calls == []


def test_iscsi_login_fails_naming_the_luns_that_do_not_appear(tmp_path):
    script = login_script(PROD, NODE).replace("\ndevice_wait=60\n", "\ndevice_wait=1\n")
    run = _iscsi(tmp_path, devices=DEVICES[1:]).run(script, stdin=iscsid_conf(PROD, "chap-secret-1", "mutual-secret-2"))
    assert run.returncode == 1
    assert f"LUNs not visible on {NODE.name} after 1 s" in run.stderr and f"  {DEVICES[0]}\n" in run.stderr


# --- sync-key.sh, sync-trust.sh, sync-config.sh --------------------------------------------------------------

@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name, comment in (("sync", f"bluemind-ha-sync@{PEER.name}"), ("host", "root@host")):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(d / name)], check=True)
        out[name] = (d / f"{name}.pub").read_text().strip()
    return out


def test_sync_key_is_made_once(tmp_path):
    host = Host(tmp_path, {"ssh-keygen": [("*", Reply(run='exec /usr/bin/ssh-keygen "$@"'))]},
                files={"/etc/ssh/ssh_host_ed25519_key.pub": "ssh-ed25519 AAAAhost root@h\n"})
    first = host.run(sync_scripts.sync_key(PROD, NODE))
    second = host.run(sync_scripts.sync_key(PROD, NODE))
    assert first.returncode == second.returncode == 0, first.output + second.output
    assert len(second.lines("ssh-keygen")) == 1, "the second run keeps the key"
    assert first.stdout == second.stdout and first.stdout.endswith("ssh-ed25519 AAAAhost root@h\n")
    assert f" bluemind-ha-sync@{NODE.name}\n" in first.stdout


def test_sync_trust_authorizes_the_peer_for_the_sync_daemon_only(tmp_path, keys):
    other = "ssh-ed25519 AAAAother admin@laptop\n"
    run = Host(tmp_path, {"ssh-keygen": [("*", Reply(run='exec /usr/bin/ssh-keygen "$@"'))]},
               files={"/root/.ssh/authorized_keys": (other + keys["sync"] + "-old\n", 0o600)}).run(
        sync_scripts.sync_trust(PROD, NODE), stdin=f"{keys['sync']}\n{keys['host']}\n")
    assert run.returncode == 0, run.output
    auth = run.files["/root/.ssh/authorized_keys"]
    assert auth.mode == 0o600
    assert auth.text == other + (f'restrict,from="{PEER.ip}",command="/usr/bin/rsync --server --daemon '
                                 f'--config=/etc/bluemind-ha/rsyncd-sync.conf ." {keys["sync"]}\n')
    rsyncd = run.files["/etc/bluemind-ha/rsyncd-sync.conf"]
    assert rsyncd.mode == 0o644 and "write only = yes" in rsyncd.text and "use chroot = yes" in rsyncd.text
    known = run.files["/root/.ssh/bluemind-ha-sync.known_hosts"]
    assert (known.text, known.mode) == (f"{PEER.ip} {keys['host']}\n", 0o600)


@pytest.mark.parametrize(("line1", "line2", "refused"), [
    ("{host}", "{host}", 1),              # not the peer's sync key (comment)
    ("{sync}", "ssh-rsa AAAA x", 2),      # not an ed25519 host key
    ("{sync} extra\nx", "{host}", 1),     # not a key at all
    ("ssh-ed25519 AAAAnotbase64 bluemind-ha-sync@" + PEER.name, "{host}", 1),
])
def test_sync_trust_refuses_what_is_not_the_peer_s_keys(tmp_path, keys, line1, line2, refused):
    stdin = f"{line1.format(**keys)}\n{line2.format(**keys)}\n"
    run = Host(tmp_path, {"ssh-keygen": [("*", Reply(run='exec /usr/bin/ssh-keygen "$@"'))]}).run(
        sync_scripts.sync_trust(PROD, NODE), stdin=stdin)
    assert run.returncode == 1 and f"line {refused} of {PEER.name}'s sync-key output" in run.stderr
    assert run.files == {}


def test_sync_config_installs_the_unit_never_enabled(tmp_path):
    conf = render_lsyncd_conf(PROD, NODE)
    run = Host(tmp_path).run(sync_scripts.sync_config(PROD, NODE), stdin=conf)
    assert run.returncode == 0, run.output
    assert (run.files["/etc/lsyncd/lsyncd.conf.lua"].text, run.files["/etc/lsyncd/lsyncd.conf.lua"].mode) == (
        conf, 0o644)
    assert run.files["/etc/systemd/system/lsyncd.service"].mode == 0o644
    assert run.lines("systemctl") == ["systemctl daemon-reload", "systemctl disable lsyncd.service"]


# --- the storage host: packages and volumes --------------------------------------------------------------------

def test_storage_packages(tmp_path):
    run = Host(tmp_path).run(storage_scripts.storage_packages(DEV))
    assert run.returncode == 0, run.output
    assert [line for line in run.lines("apt-get") if "install" in line]


def test_storage_volumes_created_grown_never_shrunk(tmp_path):
    vg = DEV.storage.host.volume_group
    small, big, missing, *others = DEV.storage.luns
    size = "--noheadings --units g --nosuffix -o lv_size {}/{}"
    lvs = [(size.format(vg, small.slug), Reply(f"  {small.size_gb - 1}.00\n")),
           (size.format(vg, big.slug), Reply(f"  {big.size_gb + 5}.00\n")),
           (f"{vg}/{missing.slug}", Reply(rc=5)),
           *[(size.format(vg, lun.slug), Reply(f"  {lun.size_gb}.00\n")) for lun in others]]
    run = Host(tmp_path, {"vgs": [("*", Reply(rc=5))], "lvs": lvs}).run(storage_scripts.storage_volumes(DEV))
    assert run.returncode == 0, run.output
    assert run.lines("pvcreate") == [f"pvcreate {DEV.storage.host.physical_device}"]
    assert run.lines("vgcreate") == [f"vgcreate {vg} {DEV.storage.host.physical_device}"]
    assert run.lines("lvcreate") == [f"lvcreate -q -y -n {missing.slug} -L {missing.size_gb}g {vg}"]
    assert run.lines("lvextend") == [f"lvextend -q -L {small.size_gb}g {vg}/{small.slug}"]
    assert f"{big.slug} is {big.size_gb + 5} GB, the stack asks {big.size_gb} GB: LUNs are never shrunk" in run.stderr


def test_storage_volumes_in_place_change_nothing(tmp_path):
    vg = DEV.storage.host.volume_group
    lvs = [(f"--noheadings --units g --nosuffix -o lv_size {vg}/{lun.slug}", Reply(f"  {lun.size_gb}.00\n"))
           for lun in DEV.storage.luns]
    run = Host(tmp_path, {"lvs": lvs}).run(storage_scripts.storage_volumes(DEV))
    assert run.returncode == 0, run.output
    assert {c.name for c in run.calls} == {"vgs", "lvs"}


# --- the lab's VirtualBMC --------------------------------------------------------------------------------------

@pytest.mark.parametrize("installed", [False, True])
def test_virtualbmc_install(tmp_path, installed):
    pip = Reply(run="mkdir -p /opt/virtualbmc/bin && printf '#!/bin/sh\\n' > /opt/virtualbmc/bin/pip && "
                    "chmod 755 /opt/virtualbmc/bin/pip")
    files = {"/opt/virtualbmc/bin/vbmcd": ("#!/bin/sh\n", 0o755)} if installed else {}
    run = Host(tmp_path, {"python3": [("-m venv /opt/virtualbmc", pip)]}, files=files).run(virtualbmc_install())
    assert run.returncode == 0, run.output
    assert bool(run.lines("apt-get")) is (not installed)
    assert run.files["/etc/systemd/system/vbmcd.service"].mode == 0o644
    assert run.lines("systemctl") == ["systemctl daemon-reload", "systemctl enable --now vbmcd.service"]


@pytest.mark.parametrize(("same", "running"), [(True, True), (True, False), (False, True), (False, False)])
def test_virtualbmc_endpoint(tmp_path, same, running):
    node = DEV.nodes[0]
    config = vbmc_config(DEV, node, "pw")
    files = {f"/root/.vbmc/{node.name}/config": (config if same else "old", 0o600)}
    status = [Reply(f"{node.name} {'running' if running else 'down'}\n"), Reply(f"{node.name} running\n")]
    run = Host(tmp_path, {"vbmc": [("list *", status)]}, files=files).run(vbmc_script(DEV, node), stdin=config)
    assert run.returncode == 0, run.output
    vbmc = [line for line in run.lines("vbmc") if not line.startswith("vbmc list")]
    if same:
        assert vbmc == ([] if running else [f"vbmc start {node.name}"])
    else:
        assert vbmc == [*([f"vbmc stop {node.name}"] if running else []), f"vbmc start {node.name}"]


def test_virtualbmc_endpoint_that_never_runs_fails(tmp_path):
    node = DEV.nodes[0]
    run = Host(tmp_path, {"vbmc": [("list *", Reply(f"{node.name} down\n"))]}).run(
        vbmc_script(DEV, node), stdin=vbmc_config(DEV, node, "pw"))
    assert run.returncode == 1 and "is not running after 30 s" in run.stderr


@pytest.mark.parametrize("exists", [True, False])
def test_virtualbmc_delete(tmp_path, exists):
    node = DEV.nodes[0]
    run = Host(tmp_path, {"vbmc": [("show *", Reply(rc=0 if exists else 1))]},
               files={f"/root/.vbmc/{node.name}/config": ("x", 0o600)}).run(virtualbmc_delete(DEV, node))
    assert run.returncode == 0, run.output
    assert (f"vbmc delete {node.name}" in run.lines("vbmc")) is exists
    assert run.files[f"/root/.vbmc/{node.name}/config"].content is None
