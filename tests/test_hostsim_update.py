"""The update chain's scripts (components/scripts/update-*.sh), rendered for a stack and run on a fake host
(tests/hostsim): each safety branch executed both ways, with the calls and files it makes."""
from __future__ import annotations

import pytest

from components.names import group_member_ids
from components.render import update
from tests.hostsim import Host, Reply
from tests.stacks import settings_of

S = settings_of("prod")
A, B = (n.name for n in S.nodes)
RELEASE = update.release_id(S)
MEMBERS = group_member_ids(S)
VIP = "10.20.0.50"
UPGRADED = Reply("Upgrade Complete: Success\n", rc=3)
RELEASE_Q = "--type crm_config --set-name bluemind-ha-state --name bluemind-ha-release --query --quiet"
MAINT_Q = "--type crm_config --name maintenance-mode --query --quiet"   # the cluster-wide one: an admin's
GROUP_MAINT_Q = "--resource bluemind --meta --get-parameter maintenance --quiet"   # the update window
ON = "crm_resource --resource bluemind --meta --set-parameter maintenance --parameter-value true"


def cluster(tmp_path, *, release="4.9.0+old", maintenance="true", cluster_maintenance="false", where=None,
            failures=0, vip_here=True, here=None, bm_cli=UPGRADED, installed=None, files=None, first=None) -> Host:
    """A fake node of a cluster: `maintenance` is the group's (the update window), `cluster_maintenance` the
    cluster-wide maintenance-mode; `where` maps a group member to the nodes it runs on (default: all on A)."""
    where = where or {}
    locate = [(f"--locate --resource {m} --quiet", Reply("".join(f"{n}\n" for n in where.get(m, [A]))))
              for m in MEMBERS]
    failure_xml = "".join('<failure op_key="x" node="a"/>\n' for _ in range(failures))
    rules = {
        "crm_attribute": [(f"{RELEASE_Q}", Reply(f"{release}\n")), (MAINT_Q, Reply(f"{cluster_maintenance}\n"))],
        "crm_resource": [*locate, ("--resource vip --get-parameter ip --quiet", Reply(f"{VIP}\n")),
                         (GROUP_MAINT_Q, Reply(f"{maintenance}\n"))],
        "crm_mon": [("-1 --output-as=xml", Reply(f"<crm_mon>\n{failure_xml}</crm_mon>\n"))],
        "ip": [("-o -4 addr show", Reply(f"2: eth0    inet {here or (VIP if vip_here else '10.20.0.11')}/24 brd x\n"))],
        "bm-cli": [("setup upgrade", bm_cli)],
        "dpkg-query": [("*bluemind-full", Reply(installed or f"{S.bluemind.version}-1")),
                       ("*binary:Package* bm-\\* bluemind-\\*", Reply("ii  bluemind-full\nii  bm-core\nrc  bm-old\n"))],
    }
    for name, extra in (first or {}).items():  # rules that come before the healthy cluster's
        rules[name] = [*extra, *rules.get(name, [])]
    return Host(tmp_path, rules, files=files)


# --- update-common.sh: the release comparison, in every step ----------------------------------------------

STEPS = {
    "maintenance-on": lambda: update.maintenance_on_script(S),
    "packages": lambda: update.package_update_script(S, S.nodes[0]),
    "post-install": lambda: update.post_install_script(S, S.nodes[0]),
    "maintenance-off": lambda: update.maintenance_off_script(S),
    "check": lambda: update.cluster_check_script(S),
}


@pytest.mark.parametrize("step", STEPS)
def test_a_step_does_nothing_when_the_release_is_in_place(tmp_path, step):
    run = cluster(tmp_path, release=RELEASE).run(STEPS[step]())
    assert run.returncode == 0, run.output
    assert f"release {RELEASE}) is in place" in run.stdout
    assert run.lines() == [f"crm_attribute {RELEASE_Q}"], "nothing but the release query"
    assert run.files == {}


@pytest.mark.parametrize("step", STEPS)
def test_a_step_acts_when_the_release_differs(tmp_path, step):
    # A release that only begins like ours (a prefix) is another release.
    run = cluster(tmp_path, release=RELEASE[:-1]).run(STEPS[step]())
    assert "is in place" not in run.stdout, run.output
    assert len(run.calls) > 1


def test_no_recorded_release_runs_the_step(tmp_path):
    run = cluster(tmp_path, first={"crm_attribute": [(RELEASE_Q, Reply("", rc=6))]}).run(update.maintenance_on_script(S))
    assert "is in place" not in run.stdout, run.output
    assert run.called(ON)


# --- step 1: maintenance on ---------------------------------------------------------------------------------

def test_maintenance_on_sets_it_and_reads_it_back(tmp_path):
    run = cluster(tmp_path).run(update.maintenance_on_script(S))
    assert run.returncode == 0, run.output
    # The release is read twice: is it in place already, and is the stack's version a downgrade of it.
    assert run.lines("crm_attribute") == [f"crm_attribute {RELEASE_Q}", f"crm_attribute {RELEASE_Q}",
                                          f"crm_attribute {MAINT_Q}"]
    assert run.lines("crm_resource") == [ON, f"crm_resource {GROUP_MAINT_Q}"]
    assert "Fencing stays armed" in run.stdout


def test_maintenance_on_fails_when_it_does_not_read_back(tmp_path):
    run = cluster(tmp_path, maintenance="false").run(update.maintenance_on_script(S))
    assert run.returncode == 1
    assert "the group's maintenance did not read back as true" in run.stderr


# --- step 2: packages ---------------------------------------------------------------------------------------

def test_packages_refuse_outside_maintenance(tmp_path):
    run = cluster(tmp_path, maintenance="false").run(update.package_update_script(S, S.nodes[0]))
    assert run.returncode == 1
    assert "the group bluemind is not in maintenance" in run.stderr
    assert not run.lines("apt-get") and run.files == {}


@pytest.mark.parametrize("vip_here", [True, False])
def test_packages_block_service_starts_on_the_passive_node_only(tmp_path, vip_here):
    # apt-get notes what policy-rc.d says while it runs (package scripts would ask it).
    seen = Reply(run='cat /usr/sbin/policy-rc.d >> "$HOSTSIM_STUBS/../policy-seen" 2>/dev/null || true')
    run = cluster(tmp_path, vip_here=vip_here, first={"apt-get": [("*", seen)]}).run(
        update.package_update_script(S, S.nodes[0]))
    assert run.returncode == 0, run.output
    # Only BlueMind's installed packages are upgraded (never a dist-upgrade: the cluster stack stays held).
    assert run.lines("apt-get") == [
        "apt-get update -qq",
        "apt-get install -y -qq --only-upgrade -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
        "bluemind-full bm-core"]
    pin = run.files["/etc/apt/preferences.d/bluemind-ha"]
    assert pin.text == update.apt_pin(S.bluemind.version) and pin.mode == 0o644
    seen_text = (tmp_path / "hostsim/policy-seen").read_text() if (tmp_path / "hostsim/policy-seen").exists() else ""
    if vip_here:
        assert seen_text == ""
    else:
        assert seen_text.count("exit 101\n") == 2 and "bluemind-ha" in seen_text
    # policy-rc.d lives only while the script runs.
    assert "/usr/sbin/policy-rc.d" not in run.files
    stops = [line for line in run.lines("systemctl") if line.startswith("systemctl stop")]
    assert stops == ([] if vip_here else [f"systemctl stop {u}.service" for u in update.active_only_units(S.bluemind.major)])
    assert f"(VIP here: {'yes' if vip_here else 'no'})" in run.stdout


def test_packages_fail_when_the_installed_version_is_not_the_stack_s(tmp_path):
    run = cluster(tmp_path, installed="4.1.0-1").run(update.package_update_script(S, S.nodes[0]))
    assert run.returncode == 1
    assert f"bluemind-full is '4.1.0-1' on {A}, not {S.bluemind.version}" in run.stderr


def test_packages_refuse_a_foreign_policy_rc_on_the_passive_node(tmp_path):
    host = cluster(tmp_path, vip_here=False, files={"/usr/sbin/policy-rc.d": ("#!/bin/sh\nexit 0\n", 0o755)})
    run = host.run(update.package_update_script(S, S.nodes[0]))
    assert run.returncode == 1
    assert "exists and is not ours" in run.stderr
    assert not run.lines("apt-get")


# --- step 3: post-install, on the VIP holder only -----------------------------------------------------------

def test_post_install_runs_on_the_vip_holder(tmp_path):
    run = cluster(tmp_path, vip_here=True).run(update.post_install_script(S, S.nodes[0]))
    assert run.returncode == 0, run.output
    assert run.lines("bm-cli") == ["bm-cli setup upgrade"]
    assert f"{A}: post-installation done (bm-cli rc 3)" in run.stdout


def test_post_install_skips_the_node_without_the_vip(tmp_path):
    run = cluster(tmp_path, vip_here=False).run(update.post_install_script(S, S.nodes[0]))
    assert run.returncode == 0, run.output
    assert run.lines("bm-cli") == []
    assert "skipped: it does not hold the VIP" in run.stdout


def test_post_install_skips_a_node_whose_address_only_contains_the_vip(tmp_path):
    run = cluster(tmp_path, here=f"1{VIP}").run(update.post_install_script(S, S.nodes[0]))
    assert run.returncode == 0 and run.lines("bm-cli") == [], run.output


def test_post_install_refuses_outside_maintenance(tmp_path):
    run = cluster(tmp_path, maintenance="false").run(update.post_install_script(S, S.nodes[0]))
    assert run.returncode == 1 and run.lines("bm-cli") == []


@pytest.mark.parametrize(("reply", "ok"), [
    (Reply("done\n", rc=0), True),
    (Reply("Upgrade Complete: Success\n", rc=3), True),
    (Reply("Upgrade Complete: Failure\n", rc=3), False),
    (Reply("Upgrade Complete: Success\n", rc=1), False),
])
def test_post_install_judges_bm_cli(tmp_path, reply, ok):
    run = cluster(tmp_path, bm_cli=reply).run(update.post_install_script(S, S.nodes[0]))
    assert (run.returncode == 0) is ok, run.output
    if not ok:
        assert f"bm-cli setup upgrade returned {reply.rc} on {A}" in run.stderr


# --- step 4: maintenance off, only with the group on exactly one node --------------------------------------

OFF = "crm_resource --resource bluemind --meta --delete-parameter maintenance"


def test_maintenance_off_with_the_group_on_one_node(tmp_path):
    run = cluster(tmp_path).run(update.maintenance_off_script(S))
    assert run.returncode == 0, run.output
    assert run.lines("crm_resource")[1] == "crm_resource --refresh --resource bluemind"
    assert OFF in run.lines("crm_resource")
    assert f"pacemaker manages BlueMind again, on {A}" in run.stdout


@pytest.mark.parametrize(("where", "message"), [
    ({"svc-bm-core": [A, B]}, "svc-bm-core runs on more than one node"),
    ({"fs-var-spool-cyrus": [A, B]}, "fs-var-spool-cyrus runs on more than one node"),
    ({"svc-postfix": []}, "svc-postfix runs on no node"),
    ({"svc-bm-core": [B]}, "the group bluemind is split across nodes"),
])
def test_maintenance_off_refuses_a_group_not_on_exactly_one_node(tmp_path, where, message):
    run = cluster(tmp_path, where=where).run(update.maintenance_off_script(S))
    assert run.returncode == 1
    assert message in run.stderr
    assert OFF not in run.lines("crm_resource"), "the group's maintenance stays on"


def test_maintenance_off_when_already_off_does_nothing(tmp_path):
    run = cluster(tmp_path, maintenance="false").run(update.maintenance_off_script(S))
    assert run.returncode == 0
    assert "is not in maintenance; nothing to do" in run.stdout
    assert run.lines("crm_resource") == [f"crm_resource {GROUP_MAINT_Q}"]


def test_maintenance_off_refuses_when_the_reprobe_does_not_settle(tmp_path):
    run = cluster(tmp_path, first={"crm_resource": [("--wait *", Reply(rc=124))]}).run(update.maintenance_off_script(S))
    assert run.returncode == 1
    assert "the re-probe did not settle" in run.stderr
    assert OFF not in run.lines("crm_resource")


# --- step 5: the cluster check ------------------------------------------------------------------------------

def test_check_passes_a_healthy_cluster_and_records_the_release(tmp_path):
    run = cluster(tmp_path, maintenance="false").run(update.cluster_check_script(S))
    assert run.returncode == 0, run.output
    assert run.lines("crm_attribute")[-1] == (
        f"crm_attribute --type crm_config --set-name bluemind-ha-state --name bluemind-ha-release --update {RELEASE}")
    assert [line for line in run.lines("crm_resource") if "--locate" in line] == [
        f"crm_resource --locate --resource {m} --quiet" for m in MEMBERS]


@pytest.mark.parametrize(("fault", "problem"), [
    ({"maintenance": "true"}, "the group bluemind is in maintenance"),
    ({"cluster_maintenance": "true"}, "the cluster is in maintenance mode"),
    ({"where": {"svc-bm-core": [A, B]}}, "svc-bm-core runs on: "),
    ({"where": {"vip": []}}, "vip runs on: no node"),
    ({"where": {"svc-bm-lmtpd": [B]}}, "the group bluemind is not on exactly one node"),
    ({"failures": 1}, "1 failed action(s)"),
])
def test_check_fails_an_unhealthy_cluster_and_records_nothing(tmp_path, fault, problem):
    run = cluster(tmp_path, **{"maintenance": "false", **fault}).run(update.cluster_check_script(S))
    assert run.returncode == 1
    assert f"PROBLEM: {problem}" in run.stderr
    assert not [line for line in run.lines("crm_attribute") if "--update" in line]
