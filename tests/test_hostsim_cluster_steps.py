"""The cluster's steps (components/scripts/*.sh) on the fake host (tests/hostsim), each branch both ways:
corosync.conf, the CIB push, the fence pre-flight, the update chain's arming, the deletes."""
from __future__ import annotations

import pytest

from components.render import deletes, node_scripts, update
from components.render.cib import render_cib
from components.render.corosync import render_corosync
from components.render.fence_preflight import preflight_script
from tests.hostsim import Host, Reply
from tests.stacks import settings_of

PROD = settings_of("prod")
NODE = PROD.nodes[0]
PEER = PROD.nodes[1]


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


# --- update-chain-armed.sh -------------------------------------------------------------------------------------

def test_chain_armed_records_the_release(tmp_path):
    run = Host(tmp_path).run(update.chain_armed_script(PROD))
    assert run.lines() == ["crm_attribute --type crm_config --set-name bluemind-ha-state --name bluemind-ha-release "
                           f"--update {update.release_id(PROD)}"]
