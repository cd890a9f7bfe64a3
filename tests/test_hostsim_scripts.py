"""The other host scripts (components/scripts/*.sh) on the fake host (tests/hostsim), each branch both ways:
packages, agents, corosync.conf, the CIB push, the iSCSI login, the lsyncd steps, the deletes, the fence
pre-flight, the storage host's volumes and the lab's VirtualBMC. (verify.sh: tests/test_verify_script.py;
the update chain, filesystems, cluster start, authkey, target: the other test_hostsim_* files.)"""
from __future__ import annotations

import subprocess

import pytest

from components.agents import ALERT_AGENT_PATH, SERVICE_AGENT_PATH, alert_agent_source
from components.names import HELD_PACKAGES, by_path_device
from components.render import deletes, node_scripts, storage_scripts, sync_scripts, update
from components.render.cib import render_cib
from components.render.corosync import render_corosync
from components.render.fence_preflight import preflight_script
from components.render.iscsi_initiator import iscsid_conf, login_script
from components.render.lsyncd import render_lsyncd_conf
from components.render.vbmc import vbmc_config, vbmc_script, virtualbmc_delete, virtualbmc_install
from tests.hostsim import Host, Reply
from tests.stacks import settings_of

PROD, DEV = settings_of("prod"), settings_of("dev")
NODE = PROD.nodes[0]
PEER = PROD.nodes[1]


# --- cluster-packages.sh ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("rendered", [False, True])
def test_cluster_packages_stop_a_cluster_only_before_ours_is_configured(tmp_path, rendered):
    files = {"/etc/corosync/corosync.conf": "# rendered by bluemind-ha\n"} if rendered else {}
    run = Host(tmp_path, {"uname": [("-n", Reply(NODE.name + "\n"))]}, files=files).run(
        node_scripts.cluster_packages(PROD, NODE))
    assert run.returncode == 0, run.output
    # Missing packages only, never an upgrade (an upgraded corosync's postinst restarts the cluster); held.
    assert run.lines("apt-get") == ["apt-get update -qq", "apt-get install -y -qq --no-install-recommends --no-upgrade "
                                    + " ".join(node_scripts.CLUSTER_PACKAGES)]
    assert run.lines("apt-mark") == ["apt-mark hold " + " ".join(HELD_PACKAGES)]
    stop = "systemctl stop pacemaker.service corosync.service"
    assert run.lines("systemctl") == ["systemctl disable --quiet corosync.service pacemaker.service",
                                      *([] if rendered else [stop]), "systemctl enable --now iscsid.service"]
    assert run.lines("hostnamectl") == [], "a host already named right is not renamed"


def test_cluster_packages_refuse_a_host_of_another_name_before_anything_changes(tmp_path):
    run = Host(tmp_path, {"uname": [("-n", Reply("vm\n"))]}).run(node_scripts.cluster_packages(PROD, NODE))
    assert run.returncode == 1 and "REFUSED: this host is named 'vm'" in run.stderr
    assert run.lines("apt-get") == run.lines("hostnamectl") == run.lines("systemctl") == []


# --- bluemind-packages.sh --------------------------------------------------------------------------------------

UNITS = [f"{u}.service" for u in update.active_only_units(PROD.bluemind.major)]


def test_bluemind_first_install_blocks_service_starts_and_disables_every_unit(tmp_path):
    seen = Reply(run='cat /usr/sbin/policy-rc.d >> "$HOSTSIM_STUBS/../policy-seen" 2>/dev/null || true')
    run = Host(tmp_path, {"dpkg-query": [("*", Reply(rc=1))], "apt-get": [("*", seen)]}).run(
        node_scripts.bluemind_packages(PROD, NODE), stdin=update.first_install_pin(PROD))
    assert run.returncode == 0, run.output
    assert run.lines("apt-get") == ["apt-get update -qq", "apt-get install -y -qq bluemind-full"]
    assert (tmp_path / "hostsim/policy-seen").read_text().count("exit 101") == 2
    assert "/usr/sbin/policy-rc.d" not in run.files
    pin = run.files["/etc/apt/preferences.d/bluemind-ha"]
    assert (pin.text, pin.mode) == (update.first_install_pin(PROD), 0o644)
    assert run.lines("systemctl") == [line for u in UNITS
                                      for line in (f"systemctl disable --quiet {u}", f"systemctl stop {u}")]


def test_bluemind_installed_is_left_to_the_update_chain(tmp_path):
    run = Host(tmp_path, {"dpkg-query": [("*Status*", Reply("install ok installed")), ("*", Reply("5.3.2-1"))]}).run(
        node_scripts.bluemind_packages(PROD, NODE), stdin=update.first_install_pin(PROD))
    assert run.returncode == 0, run.output
    assert run.lines("apt-get") == [] and run.files == {}
    assert run.lines("systemctl") == [f"systemctl disable --quiet {u}" for u in UNITS]


def test_bluemind_install_refuses_a_foreign_policy_rc(tmp_path):
    run = Host(tmp_path, {"dpkg-query": [("*", Reply(rc=1))]},
               files={"/usr/sbin/policy-rc.d": ("#!/bin/sh\nexit 0\n", 0o755)}).run(
        node_scripts.bluemind_packages(PROD, NODE), stdin=update.first_install_pin(PROD))
    assert run.returncode == 1 and "is not bluemind-ha's" in run.stderr
    assert run.lines("apt-get") == []


# --- cluster-agents.sh -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["prod", "dev"])  # with and without alerts
def test_cluster_agents(tmp_path, stack):
    s = settings_of(stack)
    run = Host(tmp_path).run(node_scripts.cluster_agents(s, s.nodes[0]), stdin="#!/bin/sh\n# agent\n")
    assert run.returncode == 0, run.output
    agent = run.files[SERVICE_AGENT_PATH]
    assert (agent.text, agent.mode) == ("#!/bin/sh\n# agent\n", 0o755)
    if s.cluster.alert_recipient:
        alert = run.files[ALERT_AGENT_PATH]
        assert alert.mode == 0o755 and alert.text == alert_agent_source()
    else:
        assert ALERT_AGENT_PATH not in run.files


@pytest.mark.parametrize("stack", ["prod", "dev"])  # BlueMind 5 and 4: other systemd: members
def test_the_cibs_op_timeouts_are_the_systemd_members_own(tmp_path, stack):
    """Pacemaker's systemd class sets no TimeoutStartSec: each systemd: resource of the CIB gets a drop-in with
    its start op's timeout, and a stop timeout that ends inside its stop op's (before a fence)."""
    import xml.etree.ElementTree as ET

    s = settings_of(stack)
    run = Host(tmp_path).run(node_scripts.cluster_agents(s, s.nodes[0]), stdin="#!/bin/sh\n")
    assert run.returncode == 0, run.output
    members = ET.fromstring(render_cib(s)).findall(".//group/primitive[@class='systemd']")
    assert len(members) >= 2
    for prim in members:
        ops = {op.get("name"): int(op.get("timeout").rstrip("s")) for op in prim.iter("op")}
        dropin = run.files[f"/etc/systemd/system/{prim.get('type')}.service.d/50-bluemind-ha-timeouts.conf"]
        values = dict(line.split("=", 1) for line in dropin.text.splitlines() if "=" in line)
        assert int(values["TimeoutStartSec"]) == ops["start"], prim.get("id")
        assert 0 < int(values["TimeoutStopSec"]) <= ops["stop"] - 5, prim.get("id")
    assert "systemctl daemon-reload" in run.lines("systemctl")


# --- corosync-conf.sh ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("existing", "running", "reload"), [
    (None, False, False), (None, True, True), ("old\n", True, True), ("same", True, False)])
def test_corosync_conf_is_reloaded_only_when_changed_and_running(tmp_path, existing, running, reload):
    conf = render_corosync(PROD)
    files = {"/etc/corosync/corosync.conf": conf if existing == "same" else existing} if existing else {}
    run = Host(tmp_path, {"corosync-cfgtool": [("-s", Reply(rc=0 if running else 1))]}, files=files).run(
        node_scripts.corosync_conf(PROD, NODE), stdin=conf)
    assert run.returncode == 0, run.output
    assert run.lines("corosync")[0].startswith("corosync -t -c /etc/corosync/corosync.conf.")
    assert ("corosync-cfgtool -R" in run.lines("corosync-cfgtool")) is reload
    if existing != "same":
        assert (run.files["/etc/corosync/corosync.conf"].text, run.files["/etc/corosync/corosync.conf"].mode) == (
            conf, 0o644)


def test_corosync_conf_refused_by_corosync_is_not_installed(tmp_path):
    run = Host(tmp_path, {"corosync": [("-t *", Reply(err="parse error\n", rc=8))]}).run(
        node_scripts.corosync_conf(PROD, NODE), stdin="totem {\n")
    assert run.returncode != 0 and "parse error" in run.stderr, "corosync's reason is shown"
    assert [p for p, f in run.files.items() if f.content is not None] == []


def test_corosync_conf_accepted_prints_nothing_of_corosyncs_own_chatter(tmp_path):
    """corosync -t says "exiting normally" on stderr even for a good file: a successful step stays quiet."""
    run = Host(tmp_path, {"corosync": [("-t *", Reply(err="Corosync Cluster Engine exiting normally\n"))]}).run(
        node_scripts.corosync_conf(PROD, NODE), stdin=render_corosync(PROD))
    assert run.returncode == 0 and "exiting normally" not in run.stderr, run.output


# --- cib-push.sh -----------------------------------------------------------------------------------------------

RUNS_ON_A = ("--resource bluemind --locate --quiet", Reply(f"{NODE.name}\n"))


@pytest.mark.parametrize(("diff_rc", "patched", "ok"), [(0, False, True), (1, True, True), (2, False, False)])
def test_cib_push_patches_only_a_difference(tmp_path, diff_rc, patched, ok):
    cib = render_cib(PROD)
    run = Host(tmp_path, {"cibadmin": [("--query", Reply(cib))], "crm_diff": [("*", Reply(rc=diff_rc))],
                          "crm_resource": [RUNS_ON_A]}).run(node_scripts.cib_push(PROD, NODE), stdin=cib)
    assert (run.returncode == 0) is ok, run.output
    assert run.lines("crm_verify")[0].startswith("crm_verify --xml-file ")
    assert any(line.startswith("cibadmin --patch --xml-file ") for line in run.lines("cibadmin")) is patched


def test_cib_push_never_patches_a_cib_crm_verify_refuses(tmp_path):
    cib = render_cib(PROD)
    run = Host(tmp_path, {"cibadmin": [("--query", Reply(cib))], "crm_verify": [("*", Reply(rc=1))],
                          "crm_diff": [("*", Reply(rc=1))]}).run(node_scripts.cib_push(PROD, NODE), stdin=cib)
    assert run.returncode != 0
    assert run.lines("crm_diff") == [] and run.lines("cibadmin") == ["cibadmin --query"]


def test_cib_push_waits_for_the_group_and_fails_with_pacemakers_status_when_it_runs_nowhere(tmp_path):
    cib = render_cib(PROD)
    run = Host(tmp_path, {"cibadmin": [("--query", Reply(cib))], "crm_diff": [("*", Reply(rc=1))],
                          "crm_mon": [("-1 -r -f", Reply("Failed Resource Actions: fs-var-lib-cyrus start\n"))]}).run(
        node_scripts.cib_push(PROD, NODE), stdin=cib)
    assert run.returncode == 1 and "runs on no node" in run.stderr and "fs-var-lib-cyrus start" in run.stderr
    assert run.lines("crm_resource")[0] == "crm_resource --wait --timeout=900s", "bounded"


@pytest.mark.parametrize("admin", [("--resource bluemind --meta --get-parameter target-role --quiet", "Stopped"),
                                   ("--resource bluemind --meta --get-parameter maintenance --quiet", "true")])
def test_cib_push_accepts_a_group_an_admin_stopped_or_put_in_maintenance(tmp_path, admin):
    cib = render_cib(PROD)
    run = Host(tmp_path, {"cibadmin": [("--query", Reply(cib))],
                          "crm_resource": [(admin[0], Reply(admin[1] + "\n"))]}).run(
        node_scripts.cib_push(PROD, NODE), stdin=cib)
    assert run.returncode == 0 and "as an admin set it" in run.stdout, run.output


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


# --- remove-unless-used.sh (the deletes) -----------------------------------------------------------------------

def _cib(live, used):
    query = Reply(rc=0 if live else 1)
    return {"cibadmin": [("--query --scope nodes", query), ("--query --xpath *", Reply(rc=0 if used else 6))]}


@pytest.mark.parametrize("live", [True, False])
def test_a_delete_keeps_what_the_cluster_still_uses(tmp_path, live):
    files = {"/etc/lsyncd/lsyncd.conf.lua": "x", "/var/lib/pacemaker/cib/cib.xml": "<cib/>"}
    run = Host(tmp_path, _cib(live, used=True), files=files).run(deletes.sync_config_delete(PROD, NODE))
    assert run.returncode == 0, run.output
    assert "kept" in run.stdout and run.files == {}
    if not live:  # the CIB pacemaker keeps on disk answers
        assert [c for c in run.calls if c.args[:2] == ("--query", "--xpath")]


def test_a_delete_removes_what_nothing_uses(tmp_path):
    files = {"/etc/lsyncd/lsyncd.conf.lua": "x", "/etc/systemd/system/lsyncd.service": "[Unit]\n"}
    run = Host(tmp_path, _cib(True, used=False), files=files).run(deletes.sync_config_delete(PROD, NODE))
    assert run.returncode == 0, run.output
    assert run.files["/etc/lsyncd/lsyncd.conf.lua"].content is None
    assert run.files["/etc/systemd/system/lsyncd.service"].content is None
    assert run.lines("systemctl") == ["systemctl daemon-reload"]


def test_a_delete_with_no_cib_at_all_removes_and_drops_the_peer_s_key(tmp_path):
    keys = f"ssh-ed25519 AAAAadmin admin\nrestrict ssh-ed25519 AAAAsync bluemind-ha-sync@{PEER.name}\n"
    files = {"/root/.ssh/authorized_keys": (keys, 0o600), "/root/.ssh/bluemind-ha-sync.known_hosts": "k"}
    run = Host(tmp_path, {"cibadmin": [("*", Reply(rc=1))]}, files=files).run(deletes.sync_trust_delete(PROD, NODE))
    assert run.returncode == 0, run.output
    assert run.files["/root/.ssh/authorized_keys"].text == "ssh-ed25519 AAAAadmin admin\n"
    assert run.files["/root/.ssh/bluemind-ha-sync.known_hosts"].content is None
    assert run.lines("systemctl") == []


def test_the_bmc_password_delete_asks_for_the_peer_s_fence_device(tmp_path):
    run = Host(tmp_path, _cib(True, used=True)).run(deletes.bmc_password_delete(PROD, NODE))
    assert run.returncode == 0, run.output
    assert ("--query", "--xpath", f"//primitive[@id='fence-{PEER.name}']") in [c.args for c in run.calls]


# --- fence-preflight.sh ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rc", "ok"), [(0, True), (2, True), (1, False), (124, False)])
def test_fence_preflight(tmp_path, rc, ok):
    run = Host(tmp_path, {"fence_ipmilan": [("*", Reply("agent said\n", rc=rc))]}).run(preflight_script(PROD, NODE))
    assert (run.returncode == 0) is ok, run.output
    call, = [c for c in run.calls if c.name == "fence_ipmilan"]
    assert call.args == () and call.stdin.endswith("action=status\n")
    assert f"ip={PEER.bmc.address}" in call.stdin.splitlines()
    if not ok:
        assert f"pre-flight FAILED on {NODE.name}: cannot fence {PEER.name}" in run.stderr
        assert ("no answer within 60 s" in run.stderr) is (rc == 124)


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


# --- update-chain-armed.sh -------------------------------------------------------------------------------------

def test_chain_armed_records_the_release(tmp_path):
    run = Host(tmp_path).run(update.chain_armed_script(PROD))
    assert run.lines() == ["crm_attribute --type crm_config --set-name bluemind-ha-state --name bluemind-ha-release "
                           f"--update {update.release_id(PROD)}"]


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
