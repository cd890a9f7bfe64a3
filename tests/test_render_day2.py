"""Day-2 renderers: what is synced, the CIB's sync/check/alert members, the update scripts, the runbooks."""
from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from components.render import update
from components.render.cib import render_cib
from components.render.cib_nvsets import INSTANCE, nvpairs
from components.render.lsyncd import SYNC_KEY, render_lsyncd_conf
from components.render.runbooks import manual_takeover_runbook, os_upgrade_runbook, switchover_commands
from components.sync_paths import NEVER_SYNCED, SYNCED, excluded_paths, sync_roots
from tests.stacks import settings_with
from tools.stackfile import load_settings

NODE_SPECIFIC = ("/etc/hostname", "/etc/hosts", "/etc/machine-id", "/etc/network/interfaces",
                 "/etc/ssh/ssh_host_ed25519_key", "/etc/iscsi/initiatorname.iscsi", "/etc/iscsi/iscsid.conf",
                 "/etc/corosync/corosync.conf", "/etc/corosync/authkey", "/etc/pacemaker/authkey",
                 "/var/lib/pacemaker/cib/cib.xml", "/etc/fstab", "/etc/bluemind-ha/bmc/bm1.password",
                 "/etc/lsyncd/lsyncd.conf.lua")


def _with_sync(stack: str, paths=(), excludes=()):
    return settings_with(stack, sync={"extra_paths": list(paths), "extra_excludes": list(excludes)})


def _first_match(rules, relative: str) -> str | None:
    """The first filter rule naming `relative` or one of its parent directories (first match wins)."""
    for rule in rules:
        pattern = rule[2:].rstrip("/").removesuffix("/***")
        if relative == pattern or relative.startswith(pattern + "/"):
            return rule
    return None


# --- what is synced ---------------------------------------------------------------------------------
# An admin cannot list /etc or /var/lib (system directories are refused), but may list a node-specific file,
# or a directory that holds one: the exclusions must still come first.
NODE_SPECIFIC_DIRECTORIES = ("/etc/bluemind-ha", "/etc/corosync", "/etc/iscsi", "/etc/lsyncd", "/etc/network",
                             "/etc/pacemaker", "/var/lib/pacemaker")


@pytest.mark.parametrize("extra", [(), NODE_SPECIFIC, NODE_SPECIFIC_DIRECTORIES], ids=["none", "files", "directories"])
def test_node_specific_files_are_excluded_before_anything_includes_them(extra):
    s = _with_sync("dev", paths=extra)
    for path in NODE_SPECIFIC:
        for root in sync_roots(s):
            if path.startswith(root.directory + "/"):
                rule = _first_match(root.filter_rules, "/" + os.path.relpath(path, root.directory))
                # No rule names it: it is sent unless the filter ends by excluding everything unlisted.
                sent = rule.startswith("+ ") if rule else root.filter_rules[-1:] != ("- *",)
                assert not sent, f"{path} would be synced from {root.directory} (first rule: {rule!r})"


def test_every_exclusion_and_synced_path_has_a_reason_and_they_never_overlap():
    assert all(p.reason for p in SYNCED + NEVER_SYNCED)
    for synced in SYNCED:
        for excluded in NEVER_SYNCED:
            assert not (synced.path + "/").startswith(excluded.path + "/"), (synced.path, excluded.path)


def test_the_seed_files_and_the_stacks_extras_are_synced_and_extra_excludes_are_excluded():
    s = _with_sync("dev", paths=["/etc/keydb"], excludes=["/etc/bm/node-local.ini"])
    etc = next(r for r in sync_roots(s) if r.directory == "/etc")
    for path in ("/etc/aliases", "/etc/aliases.db", "/etc/sysctl.conf", "/etc/ssl/certs/bm_cert.pem", "/etc/keydb",
                 "/etc/bm/bm.ini"):
        assert _first_match(etc.filter_rules, path.removeprefix("/etc")).startswith("+ "), path
    assert _first_match(etc.filter_rules, "/bm/node-local.ini") == "- /bm/node-local.ini"
    assert _first_match(etc.filter_rules, "/motd") is None and etc.filter_rules[-1] == "- *", "unlisted: not sent"
    assert {r.directory for r in sync_roots(s)} == {"/etc", "/usr/share/bm-elasticsearch/config", "/var/lib/bm-ca"}
    assert "/etc/bm/node-local.ini" in excluded_paths(s)


def test_lsyncd_pushes_to_the_peer_over_ssh_with_the_dedicated_key():
    s = load_settings("prod")
    a, b = s.nodes
    conf = render_lsyncd_conf(s, a)
    assert f'target = "root@{b.ip}::etc/"' in conf and a.ip not in conf
    assert f"-i {SYNC_KEY}" in conf and "BatchMode=yes" in conf and "StrictHostKeyChecking=yes" in conf
    assert "archive = false" in conf and "delay = 2" in conf and "insist = true" in conf
    # Everything -a means but -D (devices and specials), which the receiving daemon refuses.
    assert all(f"        {flag} = true," in conf for flag in ("links", "perms", "times", "owner", "group"))
    assert f'target = "root@{a.ip}::etc/"' in render_lsyncd_conf(s, b)


# --- CIB --------------------------------------------------------------------------------------------
# What bm-checks test (../shared/reference/bluemind.md section 3), written out: port and probe per unit.
BM_CHECKS = {"postgresql": ("5432", "port"), "bm-elasticsearch": ("9200", "elasticsearch"),
             "bm-node": ("8022", "port"), "bm-tika": ("8087", "http"), "bm-webserver": ("8080", "http"),
             "bm-core": ("8090", "core"), "bm-eas": ("8082", "http"), "bm-ysnp": ("25250", "port"),
             "bm-lmtpd": ("2400", "port")}


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_probed_services_run_under_the_service_agent_so_a_failed_probe_restarts_the_service(stack):
    """A service whose probe fails must itself be restarted: the probe lives in the service's own resource
    (ocf:bluemind-ha:service), never in a separate member after it, whose failure would restart only itself."""
    cib = ET.fromstring(render_cib(load_settings(stack)))
    members = cib.findall(".//group[@id='bluemind']/primitive")
    services = [p for p in members if p.get("id").startswith("svc-")]
    assert len(services) == len(members) - len(cib.findall(".//group/primitive[@type='Filesystem']")) - 1  # - vip
    probed = {}
    for prim in services:
        params = nvpairs(prim, INSTANCE)
        if prim.get("class") == "systemd":
            assert not params and prim.get("id") == f"svc-{prim.get('type')}"
            continue
        assert (prim.get("class"), prim.get("provider"), prim.get("type")) == ("ocf", "bluemind-ha", "service")
        assert prim.get("id") == f"svc-{params['unit']}"
        probed[params["unit"]] = (params["port"], params["probe"])
    assert {unit: probed[unit] for unit in BM_CHECKS if unit in probed} == \
        {unit: check for unit, check in BM_CHECKS.items() if unit in probed}
    assert {"postgresql", "bm-core", "bm-elasticsearch", "bm-node"} <= set(probed)
    last = members[-1]
    assert (last.get("id"), last.get("class"), last.get("type")) == ("svc-lsyncd", "systemd", "lsyncd")


def test_alerts_only_when_a_recipient_is_set():
    prod = ET.fromstring(render_cib(load_settings("prod")))
    recipients = [r.get("value") for r in prod.findall(".//alerts/alert/recipient")]
    assert recipients == ["oncall@example.com"]
    assert prod.find(".//alerts/alert/select/select_attributes") is None, "attribute updates would flood the inbox"
    assert ET.fromstring(render_cib(load_settings("dev"))).find(".//alerts") is None


# --- update scripts ---------------------------------------------------------------------------------
def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


def _run_post_install(tmp_path, *, address: str, maintenance: str = "true", bm_cli_rc: int = 3,
                      bm_cli_says: str = "Upgrade Complete: Success"):
    """The real post-install script with `ip`, `crm_resource` and `bm-cli` stubbed on PATH. `maintenance`: the
    group's maintenance meta attribute."""
    s = load_settings("dev")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "bm-cli.calls"
    _stub(bin_dir, "ip", f"echo '2: ens3    inet {address}/24 brd 192.168.150.255 scope global ens3'")
    _stub(bin_dir, "crm_attribute", "echo false")  # the cluster-wide maintenance-mode: never the chain's
    # The VIP's address, as the CIB holds it; the group's maintenance meta attribute.
    _stub(bin_dir, "crm_resource", f'case "$*" in *"--meta --get-parameter maintenance"*) echo {maintenance} ;; '
                                   f'*) echo {s.network.vip} ;; esac')
    _stub(bin_dir, "bm-cli", f'echo "$@" >> {calls}; echo "{bm_cli_says}"; exit {bm_cli_rc}')
    script = tmp_path / "post.sh"
    script.write_text(update.post_install_script(s, s.nodes[0]))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    return result, (calls.read_text() if calls.exists() else "")


def test_post_install_runs_bm_cli_on_the_vip_holder_and_accepts_rc3_success(tmp_path):
    result, calls = _run_post_install(tmp_path, address="192.168.150.100")
    assert result.returncode == 0, result.stderr
    assert calls == "setup upgrade\n"


def test_post_install_skips_on_the_node_without_the_vip(tmp_path):
    result, calls = _run_post_install(tmp_path, address="192.168.150.11")
    assert result.returncode == 0 and "skipped" in result.stdout
    assert calls == "", "bm-cli must not run on the passive node"


def test_post_install_failure_keeps_maintenance_and_says_what_next(tmp_path):
    result, _ = _run_post_install(tmp_path, address="192.168.150.100", bm_cli_says="Upgrade failed")
    assert result.returncode == 1
    assert "stays in maintenance" in result.stderr and "fencing stays armed" in result.stderr
    assert "Next:" in result.stderr


def test_post_install_refuses_outside_maintenance_mode(tmp_path):
    result, calls = _run_post_install(tmp_path, address="192.168.150.100", maintenance="false")
    assert result.returncode == 1 and calls == ""


def test_the_release_changes_with_the_version_and_with_the_repository_and_hides_the_subscription():
    s = load_settings("prod")
    newer = settings_with("prod", bluemind={"version": "5.3.3"})
    moved = settings_with("prod", bluemind={"apt_repository": "https://mirror.example/bm"})
    assert len({update.release_id(x) for x in (s, newer, moved)}) == 3
    assert update.release_id(s).startswith("5.3.2+") and s.bluemind.apt_repository not in update.release_id(s)


def test_update_scripts_pin_the_version_and_never_turn_maintenance_off_except_step_4():
    s = load_settings("prod")
    package = update.package_update_script(s, s.nodes[0])
    assert "Pin: version 5.3.2*" in package and "exit 101" in package
    assert "systemctl disable" in package and "lsyncd.service" in package
    for text in (update.maintenance_on_script(s), package, update.post_install_script(s, s.nodes[1])):
        assert "--delete-parameter maintenance" not in text
    off = update.maintenance_off_script(s)
    assert off.index('crm_resource --refresh --resource "$group"') < off.index("--delete-parameter maintenance")
    assert all(text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text for text in
               (package, off, update.cluster_check_script(s)))


def test_the_update_window_is_the_groups_maintenance_never_the_cluster_wide_one():
    """maintenance-mode=true would disarm fencing for the whole update (tools/failover.py: update-window-*)."""
    s = load_settings("prod")
    chain = [update.maintenance_on_script(s), update.maintenance_off_script(s), update.cluster_check_script(s),
             update.post_install_script(s, s.nodes[0])] + [update.package_update_script(s, n) for n in s.nodes]
    for text in chain:  # no command sets or clears it (a warning may name the command for the admin)
        assert not re.search(r"^\s*crm_attribute [^\n]*maintenance-mode --(update|delete)", text, re.M)
    assert 'crm_resource --resource "$group" --meta --set-parameter maintenance --parameter-value true' \
        in update.maintenance_on_script(s)
    assert "group=bluemind" in update.maintenance_on_script(s)


# --- runbooks ---------------------------------------------------------------------------------------
def test_switchover_moves_waits_and_clears_the_real_group():
    text = switchover_commands(load_settings("dev"))
    assert text.index("crm_resource --move --resource bluemind") < text.index("svc-lsyncd") \
        < text.index("crm_resource --clear --resource bluemind")


def test_manual_takeover_confirms_power_off_before_quorum_and_fenced_stacks_confirm_instead():
    manual = manual_takeover_runbook(settings_with("dev", failover="manual"))
    for node in ("bm1", "bm2"):
        section = manual.split(f"## {node} is down")[1].split("##")[0]
        assert section.index("chassis power status") < section.index("corosync-quorumtool -e 1") \
            < section.index("crm_resource --cleanup --resource bluemind")
        assert f"-f /etc/bluemind-ha/bmc/{node}.password" in section, "no password on a command line"
    fenced = manual_takeover_runbook(load_settings("dev"))
    assert "stonith_admin --confirm bm1" in fenced and "stonith_admin --confirm bm2" in fenced
    assert "corosync-quorumtool" not in fenced


def test_os_upgrade_standbys_the_node_then_upgrades_the_held_stack_and_rejoins_bounded():
    from components.deployment import stack_outputs
    s = load_settings("prod")
    text = os_upgrade_runbook(s)
    assert stack_outputs(s)["os_upgrade"] == text
    order = ['--name standby --update on', 'systemctl stop pacemaker.service corosync.service',
             'apt-mark unhold corosync pacemaker', 'dist-upgrade', 'apt-mark hold corosync pacemaker',
             'systemctl start corosync.service pacemaker.service', '--name standby --delete']
    assert [text.index(step) for step in order] == sorted(text.index(step) for step in order)
    assert text.count('deadline=$((SECONDS + ') == 2 and text.count('-ge "$deadline"') == 2  # bounded waits
    assert "exit 101" in text and "systemctl disable --quiet corosync.service pacemaker.service" in text
