"""A stale node never overwrites newer configuration: the sync's start-up guard, its backups, its health.

Real tools throughout (the harness of tests/realtools/sync_chain.py): the active node's rendered guard
(`bluemind-ha-sync`) and lsyncd push through the rendered sync key into the passive node's real sshd, its
forced command and rsync daemon configuration, with real rsync. In these tests the pushing node is the one
that just became active (maybe stale), and the receiving tree is the old active node's.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from components.names import SYNC_BACKUP_DIR, SYNC_GUARD, SYNC_STAMP
from components.render.cib import render_cib
from components.render.lsyncd import LOG_DIR, STARTUP_SUFFIX, lsyncd_conf, render_lsyncd_conf, render_lsyncd_unit
from components.render.runbooks import switchover_commands
from components.render.sync_scripts import sync_guard
from components.settings import Settings
from components.sync_paths import sync_roots
from tests.conftest import require_tool
from tests.realtools.sync_chain import Pushing, free_port, pushing_pair, substituted
from tests.realtools.sync_harness import running_daemons, wait_for, write
from tests.stacks import settings_of
from tools import crmsim
from tools.stackfile import load_settings

HOUR = 3600


@pytest.fixture
def daemons():
    with running_daemons() as start:
        yield start


@pytest.fixture
def pushing(tmp_path, daemons) -> Pushing:
    return pushing_pair(tmp_path, daemons)


def _guard(pushing: Pushing, tmp_path: Path, action: str) -> subprocess.CompletedProcess:
    """The active node's rendered bluemind-ha-sync, reading the test's tree, run as root on that node."""
    program = tmp_path / "bluemind-ha-sync"
    program.write_text(sync_guard(pushing.s, pushing.s.nodes[0], source_prefix=str(pushing.src),
                                  report=str(tmp_path / "guard-report")))
    return subprocess.run(pushing.active.command("bash", str(program), action), capture_output=True, text=True,
                          timeout=90, stdin=subprocess.DEVNULL)


def _aged(path: Path, seconds_ago: int) -> Path:
    when = time.time() - seconds_ago
    os.utime(path, (when, when))
    return path


def _in_sync(pushing: Pushing, tmp_path: Path) -> None:
    """Both nodes hold the same configuration, received through the sync (the stamp is on the peer)."""
    write(pushing.src, "/etc/postfix/main.cf", "relayhost = [relay.example.com]\n")
    write(pushing.src, "/etc/bm/bm.ini", "[global]\nhost = bm\n")
    for path in ("/etc/postfix/main.cf", "/etc/bm/bm.ini"):
        _aged(pushing.src / path.lstrip("/"), 2 * HOUR)
    pushed = _guard(pushing, tmp_path, "push")
    assert pushed.returncode == 0, pushed.stderr
    assert (pushing.dst / SYNC_STAMP.lstrip("/")).exists()


def _backups(tree: Path, root: str = "/etc") -> list[Path]:
    return sorted((tree / root.lstrip("/") / SYNC_BACKUP_DIR).glob("*"))


def test_a_stale_node_refuses_to_push_when_the_peer_has_newer_configuration_and_says_what_to_run(
        pushing, tmp_path):
    _in_sync(pushing, tmp_path)
    # The sync from the old active node had been failing: its newer files never reached this node.
    newer = _aged(write(pushing.dst, "/etc/postfix/main.cf", "relayhost = [new-relay.example.com]\n"), HOUR)
    added = write(pushing.dst, "/etc/bm/added-there.ini", "[new]\n")
    backups_before = _backups(pushing.dst)

    refused = _guard(pushing, tmp_path, "check")
    assert refused.returncode == 1, refused.stderr
    a, b = (n.name for n in pushing.s.nodes)
    assert f"REFUSED: lsyncd does not start on {a}" in refused.stderr
    assert f"newer on {b}: /etc/postfix/main.cf" in refused.stderr
    assert "/etc/bm/added-there.ini" in refused.stderr and "/etc/bm/bm.ini" not in refused.stderr
    assert f"{SYNC_GUARD} push" in refused.stderr and "crm_resource --cleanup --resource svc-lsyncd" in refused.stderr
    assert "Both nodes changed" not in refused.stderr
    assert "REFUSED" in (tmp_path / "guard-report").read_text(), "the verdict stays for the admin"
    # A dry run: the peer's newer files are untouched, and nothing was backed up.
    assert newer.read_text() == "relayhost = [new-relay.example.com]\n" and added.exists()
    assert _backups(pushing.dst) == backups_before

    # The admin decides this node's version is right: `push` here, then the start is allowed.
    assert _guard(pushing, tmp_path, "push").returncode == 0
    assert (pushing.dst / "etc/postfix/main.cf").read_text() == "relayhost = [relay.example.com]\n"
    assert not added.exists()
    kept = [b / "postfix/main.cf" for b in _backups(pushing.dst) if (b / "postfix/main.cf").exists()]
    assert [p.read_text() for p in kept] == ["relayhost = [new-relay.example.com]\n"], "replaced: kept aside"
    assert any((b / "bm/added-there.ini").exists() for b in _backups(pushing.dst)), "deleted: kept aside"
    allowed = _guard(pushing, tmp_path, "check")
    assert allowed.returncode == 0 and "nothing newer" in allowed.stderr, allowed.stderr


def test_both_nodes_changed_is_refused_and_named(pushing, tmp_path):
    _in_sync(pushing, tmp_path)
    _aged(write(pushing.dst, "/etc/postfix/main.cf", "changed there\n"), HOUR)
    write(pushing.src, "/etc/bm/bm.ini", "changed here\n")
    refused = _guard(pushing, tmp_path, "check")
    assert refused.returncode == 1 and "Both nodes changed" in refused.stderr, refused.stderr
    assert f"newer on {pushing.s.nodes[0].name}: /etc/bm/bm.ini" in refused.stderr


def test_a_node_newer_than_its_peer_starts(pushing, tmp_path):
    _in_sync(pushing, tmp_path)
    write(pushing.src, "/etc/postfix/main.cf", "changed here, while the sync was failing\n")
    allowed = _guard(pushing, tmp_path, "check")
    assert allowed.returncode == 0 and "nothing newer" in allowed.stderr, allowed.stderr
    assert "1 file(s) newer here" in allowed.stderr


def test_the_first_sync_starts_whatever_the_peer_holds(pushing, tmp_path):
    """Both nodes had BlueMind installed on their own: the peer's files differ and some are newer, but none
    came through the sync (no stamp there): this node's version is pushed."""
    write(pushing.src, "/etc/postfix/main.cf", "the primary's\n")
    _aged(pushing.src / "etc/postfix/main.cf", HOUR)
    write(pushing.dst, "/etc/postfix/main.cf", "installed on the peer\n")
    write(pushing.dst, "/etc/bm/mcast.id", "peer's own install\n")
    allowed = _guard(pushing, tmp_path, "check")
    assert allowed.returncode == 0 and "first sync" in allowed.stderr, allowed.stderr
    assert (pushing.src / SYNC_STAMP.lstrip("/")).exists(), "the stamp the start-up sync carries"


def test_an_unreachable_peer_cannot_block_the_start_and_the_guard_says_so(pushing, tmp_path):
    _in_sync(pushing, tmp_path)
    _aged(write(pushing.dst, "/etc/postfix/main.cf", "newer there\n"), HOUR)
    # The peer is down (fenced): nothing listens where its sshd was.
    closed = free_port(pushing.passive_ip)
    (pushing.active.ssh_dir / "config").write_text(
        f"Host {pushing.passive_ip}\n    Port {closed}\n    HostKeyAlias {pushing.passive_ip}\n")
    started = time.monotonic()
    allowed = _guard(pushing, tmp_path, "check")
    assert allowed.returncode == 0, allowed.stderr
    assert "cannot be compared" in allowed.stderr and "STARTS ANYWAY" in allowed.stderr
    assert time.monotonic() - started < 30, "within lsyncd's start timeout"


def test_the_unit_runs_the_guard_before_lsyncd():
    unit = render_lsyncd_unit()
    assert unit.index(f"ExecStartPre={SYNC_GUARD} check") < unit.index("ExecStart=/usr/bin/lsyncd")


# --- lsyncd itself: what its sync replaces is backed up on the receiving side -----------------------------
def _start_lsyncd(pushing: Pushing, tmp_path: Path, daemons) -> tuple[Path, ...]:
    config = tmp_path / "lsyncd.conf.lua"
    config.write_text(substituted(render_lsyncd_conf(pushing.s, pushing.s.nodes[0]), {
        'source = "/': f'source = "{pushing.src}/', f'"{LOG_DIR}/': f'"{tmp_path}/'}))
    daemons(pushing.active.command("lsyncd", "-nodaemon", str(config)), tmp_path / "lsyncd.out")
    return tmp_path / "lsyncd.out", tmp_path / "sshd.log"


def test_what_lsyncd_replaces_or_deletes_on_the_peer_is_kept_in_a_dated_backup(pushing, tmp_path, daemons):
    _in_sync(pushing, tmp_path)
    stale = write(pushing.src, "/etc/postfix/main.cf", "stale\n")
    _aged(stale, 2 * HOUR)
    newer = _aged(write(pushing.dst, "/etc/postfix/main.cf", "newer on the old active\n"), HOUR)
    only_there = write(pushing.dst, "/etc/bm/only-there.ini", "added on the old active\n")
    logs = _start_lsyncd(pushing, tmp_path, daemons)

    wait_for(lambda: newer.read_text() == "stale\n" and not only_there.exists(), "the start-up pass", logs)
    startup = [b for b in _backups(pushing.dst) if b.name.endswith(STARTUP_SUFFIX)]
    assert len(startup) == 1, _backups(pushing.dst)
    assert (startup[0] / "postfix/main.cf").read_text() == "newer on the old active\n"
    assert (startup[0] / "bm/only-there.ini").read_text() == "added on the old active\n"

    # A later change of the same file is backed up apart: the start-up pass's backup stays.
    write(pushing.src, "/etc/postfix/main.cf", "edited on the new active\n")
    wait_for(lambda: newer.read_text() == "edited on the new active\n", "a later change", logs)
    wait_for(lambda: any((b / "postfix/main.cf").exists() for b in _backups(pushing.dst)
                         if not b.name.endswith(("-startup", "-push"))), "the later change's backup", logs)
    assert (startup[0] / "postfix/main.cf").read_text() == "newer on the old active\n"
    write(pushing.src, "/etc/bm/bm.ini", "[global]\nchanged = yes\n")  # a sync that would delete backups
    wait_for(lambda: "changed" in (pushing.dst / "etc/bm/bm.ini").read_text(), "another change", logs)
    assert startup[0].exists(), "the sender never sends, nor deletes, the receiver's backups"


def test_the_backup_directory_cannot_be_aimed_outside_the_allow_list(pushing, tmp_path):
    """rsync refuses a --backup-dir that the daemon's filter excludes: the peer's key can put the backups of
    the files it replaces nowhere but in the backup directory (or the allow-list it writes anyway)."""
    write(pushing.dst, "/etc/aliases", "* * * * * root sh -c 'id > /tmp/owned'\n")
    evil = write(tmp_path, "aliases", "postmaster: root\n")
    for backup_dir in ("cron.d", "/cron.d", "../cron.d", "bm/../cron.d"):
        pushed = pushing.rsync(f"--backup-dir={backup_dir}", str(evil), f"root@{pushing.passive_ip}::etc/aliases")
        assert pushed.returncode != 0, (backup_dir, pushed.stderr)
    assert not (pushing.dst / "etc/cron.d").exists()
    allowed = pushing.rsync(f"--backup-dir={SYNC_BACKUP_DIR}/x", str(evil), f"root@{pushing.passive_ip}::etc/aliases")
    assert allowed.returncode == 0, allowed.stderr
    assert (pushing.dst / "etc" / SYNC_BACKUP_DIR / "x/aliases").exists()


# --- lsyncd's health: a sync that keeps failing stops lsyncd, so pacemaker's monitor fails and alerts ------
def _failing_sync(s: Settings, tmp_path: Path, limit_s: int) -> Path:
    """lsyncd pushing to a peer that never answers (its remote shell fails, as ssh to a fenced node does)."""
    src = tmp_path / "active"
    config = tmp_path / "lsyncd.conf.lua"
    config.write_text(lsyncd_conf(s, "test", str(src), lambda root: f"root@192.0.2.1::{root.module}/",
                                  rsh="/bin/false", log_dir=str(tmp_path), failing_limit_s=limit_s))
    for root in sync_roots(s):
        (src / root.directory.lstrip("/")).mkdir(parents=True)
    return config


def test_a_sync_that_keeps_failing_stops_lsyncd_and_says_why(tmp_path, daemons):
    require_tool("lsyncd", "rsync")
    limit_s = 3
    process = daemons(["lsyncd", "-nodaemon", str(_failing_sync(load_settings("prod"), tmp_path, limit_s))],
                      tmp_path / "lsyncd.out")
    try:
        process.wait(timeout=limit_s + 20)
    except subprocess.TimeoutExpired:
        raise AssertionError("lsyncd keeps retrying a failing sync silently:\n"
                             + (tmp_path / "lsyncd.out").read_text()[-2000:]) from None
    assert process.returncode != 0, "the unit fails, so pacemaker's monitor does"
    log = (tmp_path / "lsyncd.log").read_text()
    assert "has failed for" in log and "the cluster's monitor" in log, log[-2000:]
    assert "There are" in (tmp_path / "lsyncd.status").read_text(), "the backlog, for the admin"


def test_a_working_sync_keeps_lsyncd_running(tmp_path, daemons):
    """Only failures count: a sync that works never stops lsyncd, however long it runs past the limit."""
    require_tool("lsyncd", "rsync")
    s = load_settings("prod")
    src, dst = tmp_path / "active", tmp_path / "passive"
    config = tmp_path / "lsyncd.conf.lua"
    config.write_text(lsyncd_conf(s, "test", str(src), lambda root: f"{dst}{root.directory}/", rsh=None,
                                  log_dir=str(tmp_path), failing_limit_s=3))
    for root in sync_roots(s):
        (src / root.directory.lstrip("/")).mkdir(parents=True)
        (dst / root.directory.lstrip("/")).mkdir(parents=True)
    process = daemons(["lsyncd", "-nodaemon", str(config)], tmp_path / "lsyncd.out")
    write(src, "/etc/postfix/main.cf", "x\n")
    wait_for(lambda: (dst / "etc/postfix/main.cf").exists(), "the sync", (tmp_path / "lsyncd.out",))
    time.sleep(5)
    assert process.poll() is None, (tmp_path / "lsyncd.log").read_text()[-2000:]


# --- the cluster's side: a refused start stops the sync only ----------------------------------------------
@pytest.mark.parametrize("name", ["prod", "prod-manual"])
def test_a_refused_start_leaves_lsyncd_stopped_and_bluemind_where_it_is(name):
    """The guard's refusal is a failed start of svc-lsyncd: pacemaker's scheduler (crm_simulate) keeps it
    stopped, instead of retrying (and alerting) in a loop where start failures are not fatal (manual mode),
    and the rest of the group stays on its node. It is tried again after failure-timeout or a cleanup."""
    require_tool("crm_simulate")
    s = settings_of(name)
    nodes = [n.name for n in s.nodes]
    settled = crmsim.settle(render_cib(s), nodes)
    steps = crmsim.run_until_idle(settled, quorum=True, inject=[f"svc-lsyncd_start_0@{nodes[0]}=1"])
    assert [step.executed for step in steps] == [(("stop", "svc-lsyncd", nodes[0]),), ()]
    after = steps[-1].after
    assert "svc-lsyncd" not in after and after["vip"] == after["svc-bm-nginx"] == (nodes[0],)


def test_the_switchover_runbook_stops_waiting_when_the_guard_refused_on_the_target(tmp_path):
    """BlueMind has moved, lsyncd's start failed there: the runbook says so and clears the move at once,
    instead of waiting its whole timeout for a member that stays stopped. Stand-ins for the cluster's tools."""
    s = load_settings("dev")
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    stand_ins = {
        # bm1 runs the group before the move, bm2 everything but lsyncd after it.
        "crm_resource": 'echo "$*" >> "$CALLS"; case "$*" in *"--resource bluemind --locate"*) echo bm1;;'
                        ' *"--resource svc-bm-nginx --locate"*) echo bm2;; esac',
        "crm_failcount": 'echo INFINITY',
        "crm_mon": 'true',
        "sleep": 'true',
    }
    for name, body in stand_ins.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    result = subprocess.run(["bash", "-c", switchover_commands(s)], capture_output=True, text=True, timeout=20,
                            env={"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls)})
    assert result.returncode == 0 and "not the config sync" in result.stderr, result.stderr
    assert "/var/log/lsyncd/guard on bm2" in result.stderr
    assert calls.read_text().splitlines()[-1] == "--clear --resource bluemind"
