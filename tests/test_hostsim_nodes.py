"""The node and storage scripts (components/scripts/*.sh) rendered for a stack and run on a fake host
(tests/hostsim): the safety branches both ways (cluster-start wait, authkey refusal, CHAP rotation; the
mkfs guard: test_hostsim_filesystems.py), the calls they make and the files they write."""
from __future__ import annotations

import base64

import pytest

from components.render import node_scripts, storage_scripts
from components.render.tgt import render_targets_conf
from tests.hostsim import Host, Reply
from tests.stacks import settings_of

PROD = settings_of("prod")
A, B = (n.name for n in PROD.nodes)

# --- cluster-start.sh: wait for BOTH nodes --------------------------------------------------------------------

ONE = Reply(f"1 {A} member\n2 {B} lost\n")
BOTH = Reply(f"1 {A} member\n2 {B} member\n")


DC_BOTH = Reply('<crm_mon><summary><current_dc present="true"/></summary><nodes>'
                f'<node name="{A}" online="true"/><node name="{B}" online="true"/></nodes></crm_mon>')
DC_ONE = Reply('<crm_mon><summary><current_dc present="true"/></summary><nodes>'
               f'<node name="{A}" online="true"/><node name="{B}" online="false" unclean="true"/></nodes></crm_mon>')
NO_DC = Reply('<crm_mon><summary><current_dc present="false"/></summary><nodes></nodes></crm_mon>')


def test_cluster_start_waits_for_the_second_member(tmp_path):
    run = Host(tmp_path, {"crm_node": [("-l", [ONE, ONE, BOTH])], "crm_mon": [("*", DC_BOTH)]}).run(
        node_scripts.cluster_start(PROD, PROD.nodes[0]))
    assert run.returncode == 0, run.output
    assert run.lines("systemctl") == ["systemctl start corosync.service pacemaker.service"]
    assert run.lines("crm_node") == ["crm_node -l"] * 4  # three waits, then the listing printed
    assert run.lines("sleep") == ["sleep 2"] * 2
    assert run.stdout == BOTH.out


def test_cluster_start_waits_for_a_dc_that_sees_both_nodes_online(tmp_path):
    """corosync membership comes first; until the DC has joined both nodes the CIB shows one UNCLEAN, and the
    CIB push's crm_verify would fail on it."""
    run = Host(tmp_path, {"crm_node": [("-l", BOTH)], "crm_mon": [("*", [NO_DC, DC_ONE, DC_BOTH])]}).run(
        node_scripts.cluster_start(PROD, PROD.nodes[0]))
    assert run.returncode == 0, run.output
    assert len(run.lines("crm_mon")) == 3 and run.lines("sleep") == ["sleep 2"] * 2


def test_cluster_start_fails_when_only_one_member_comes_up(tmp_path):
    run = Host(tmp_path, {"crm_node": [("-l", ONE)]}).run(node_scripts.cluster_start(PROD, PROD.nodes[0]))
    assert run.returncode == 1
    assert f"{A}: the cluster did not reach two members online with a DC in 240 s" in run.stderr
    assert len(run.lines("crm_node")) == 120 and len(run.lines("sleep")) == 120


# --- corosync-authkey.sh: a new key refused while corosync runs ----------------------------------------------

AUTHKEY = "/etc/corosync/authkey"
OLD, NEW = b"\x01" * 128, b"\x02" * 128


@pytest.mark.parametrize(("existing", "running", "refused"), [
    (None, True, False),   # first install, even with corosync up
    (OLD, True, True),     # a changed key while corosync runs: refused
    (OLD, False, False),   # a changed key with corosync stopped: installed
    (NEW, True, False),    # the same key: nothing to do
])
def test_authkey(tmp_path, existing, running, refused):
    files = {AUTHKEY: (existing, 0o400)} if existing else {}
    host = Host(tmp_path, {"corosync-cfgtool": [("-s", Reply(rc=0 if running else 1))]}, files=files)
    run = host.run(node_scripts.corosync_authkey(PROD, PROD.nodes[0]), stdin=base64.b64encode(NEW).decode())
    if refused:
        assert run.returncode == 1
        assert "corosync_authkey changed while corosync runs here; the running key is kept" in run.stderr
        assert AUTHKEY not in run.files, "the old key stays"
        return
    assert run.returncode == 0, run.output
    if existing == NEW:
        assert AUTHKEY not in run.files
    else:
        key = run.files[AUTHKEY]
        assert key.content == NEW and key.mode == 0o400 and key.uid == 0


# --- storage-target.sh: the CHAP secret set on every run, the target never left without an account --------

DEV = settings_of("dev")
SECRET = "secretpass123"
MUTUAL = "mutualpass4567"
ROT = storage_scripts.ROTATION_ACCOUNT


def _listing(s, sessions=False, accounts=("bluemind", "bluemind-target (outgoing)"), drop_lun=None):
    st = s.storage
    lines = [f"Target 1: {st.target_iqn}", "    System information:", "        Driver: iscsi", "        State: ready",
             "    I_T nexus information:"]
    if sessions:
        lines += ["        I_T nexus: 1", "            Initiator: iqn.2026-11.example.lab:bm1 alias: bm1",
                  "            Connection: 0", "                IP Address: 192.168.150.11"]
    lines += ["    LUN information:", "        LUN: 0", "            Type: controller", "            SCSI SN: beaf10",
              "            Size: 0 MB, Block size: 1", "            Backing store path: None"]
    for lun in st.luns:
        if lun.number == drop_lun:
            continue
        lines += [f"        LUN: {lun.number}", "            Type: disk", f"            SCSI SN: bmha{lun.number:04d}",
                  f"            Size: {lun.size_gb * 1000} MB, Block size: 512",
                  f"            Backing store path: /dev/{st.host.volume_group}/{lun.slug}"]
    lines += ["    Account information:", *[f"        {a}" for a in accounts], "    ACL information:",
              "        192.168.150.11", "        192.168.150.12", "        iqn.2026-11.example.lab:bm1",
              "        iqn.2026-11.example.lab:bm2"]
    return "\n".join(lines) + "\n"


def _target_host(tmp_path, listing, accounts="Account list:\n    bluemind-target\n    bluemind\n"):
    sizes = [(f"--getsize64 /dev/{DEV.storage.host.volume_group}/{lun.slug}", Reply(f"{lun.size_gb * 10**9}\n"))
             for lun in DEV.storage.luns]
    return Host(tmp_path, {
        "tgtadm": [("--lld iscsi --op show --mode target", Reply(listing)),
                   ("--lld iscsi --mode account --op show", Reply(accounts))],
        "blockdev": sizes})


def _chap_calls(run):
    return [line for line in run.lines("tgtadm") if "--mode account" in line and "--op show" not in line]


def test_the_target_matches_and_the_chap_secret_is_set_again(tmp_path):
    run = _target_host(tmp_path, _listing(DEV)).run(storage_scripts.storage_targets(DEV),
                                                      stdin=render_targets_conf(DEV, SECRET, MUTUAL))
    assert run.returncode == 0, run.output
    chap = _chap_calls(run)
    assert chap[0] == f"tgtadm --lld iscsi --mode account --op new --user {ROT} --password " + chap[0].split()[-1]
    assert len(chap[0].split()[-1]) == 32 and SECRET not in chap[0], "the rotation account's secret is random"
    assert chap[1:] == [
        f"tgtadm --lld iscsi --mode account --op bind --tid 1 --user {ROT}",
        "tgtadm --lld iscsi --mode account --op delete --user bluemind",
        f"tgtadm --lld iscsi --mode account --op new --user bluemind --password {SECRET}",
        "tgtadm --lld iscsi --mode account --op bind --tid 1 --user bluemind",
        f"tgtadm --lld iscsi --mode account --op delete --user {ROT}",
        # the mutual account, re-created with the file's secret and bound as the target's outgoing one
        "tgtadm --lld iscsi --mode account --op delete --user bluemind-target",
        f"tgtadm --lld iscsi --mode account --op new --user bluemind-target --password {MUTUAL}",
        "tgtadm --lld iscsi --mode account --op bind --tid 1 --user bluemind-target --outgoing",
    ]
    assert SECRET not in run.stdout + run.stderr and MUTUAL not in run.stdout + run.stderr
    # the digests on the live target too, every run (tgt-admin sets them only when it creates the target)
    assert [line for line in run.lines("tgtadm") if "--op update" in line] == [
        "tgtadm --lld iscsi --mode target --op update --tid 1 --name HeaderDigest --value CRC32C",
        "tgtadm --lld iscsi --mode target --op update --tid 1 --name DataDigest --value None"]
    assert not run.lines("tgt-admin")
    conf = run.files["/etc/tgt/conf.d/bluemind-ha.conf"]
    assert conf.text == render_targets_conf(DEV, SECRET, MUTUAL) and conf.mode == 0o600 and conf.uid == 0


def test_a_leftover_rotation_account_is_deleted_first_and_a_missing_account_is_created(tmp_path):
    run = _target_host(tmp_path, _listing(DEV), accounts=f"Account list:\n    {ROT}\n").run(
        storage_scripts.storage_targets(DEV), stdin=render_targets_conf(DEV, SECRET, MUTUAL))
    chap = _chap_calls(run)
    assert chap[0] == f"tgtadm --lld iscsi --mode account --op delete --user {ROT}"
    assert "tgtadm --lld iscsi --mode account --op delete --user bluemind" not in chap
    assert f"tgtadm --lld iscsi --mode account --op new --user bluemind --password {SECRET}" in chap


def test_a_differing_target_is_recreated_only_without_sessions(tmp_path):
    conf = render_targets_conf(DEV, SECRET, MUTUAL)
    run = _target_host(tmp_path, _listing(DEV, drop_lun=3)).run(storage_scripts.storage_targets(DEV), stdin=conf)
    assert "tgt-admin --update iqn.2026-11.example.lab:bluemind-data" in run.lines("tgt-admin")
    # The listing stays without LUN 3 (the stub does not change): the step then fails, naming it.
    assert run.returncode == 1 and "not served: lun 3" in run.stderr


def test_a_differing_target_with_sessions_is_left_alone_with_the_procedure(tmp_path):
    conf = render_targets_conf(DEV, SECRET, MUTUAL)
    run = _target_host(tmp_path, _listing(DEV, sessions=True, drop_lun=3)).run(storage_scripts.storage_targets(DEV),
                                                                             stdin=conf)
    assert run.returncode == 1
    assert not run.lines("tgt-admin")
    assert "re-creating it, which it refuses while initiators are logged in" in run.stderr
    assert "iqn.2026-11.example.lab:bm1 from 192.168.150.11" in run.stderr
    assert _chap_calls(run), "the CHAP secret is applied all the same"


def test_a_missing_target_is_created(tmp_path):
    host = Host(tmp_path, {
        "tgtadm": [("--lld iscsi --op show --mode target", [Reply(""), Reply(_listing(DEV))]),
                   ("--lld iscsi --mode account --op show", Reply("Account list:\n"))]})
    run = host.run(storage_scripts.storage_targets(DEV), stdin=render_targets_conf(DEV, SECRET, MUTUAL))
    assert run.lines("tgt-admin") == ["tgt-admin --execute"]
    assert run.returncode == 0, run.output
