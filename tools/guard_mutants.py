"""Each safety guard flipped, one at a time: the fast tests that exist for it must fail (`make guard-mutants`).

A mutant is one exact text replacement in one file (found exactly once, else the mutant is stale and reported
BAD); the file is restored whatever happens. Exit 1 when a mutant survives or is stale. It edits the working
tree while it runs: run it on a clean checkout, not while editing.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTSIM = ("tests/test_hostsim_update.py", "tests/test_hostsim_nodes.py", "tests/test_hostsim_filesystems.py",
           "tests/test_hostsim_cluster_steps.py", "tests/test_hostsim_storage_sync.py")
SECRETS = ("tests/test_hostsim_secrets.py",)
SETS = ("tests/test_complete_sets.py",)


@dataclass(frozen=True)
class Mutant:
    file: str
    old: str
    new: str
    select: str  # pytest -k
    tests: tuple[str, ...] = HOSTSIM
    why: str = ""


S = "components/scripts/"
MUTANTS = (
    # update-maintenance-off.sh: the group on exactly one node before maintenance off
    Mutant(S + "update-maintenance-off.sh", "    1) ;;", "    *) ;;", "maintenance_off", why="a member on 2 nodes passes"),
    Mutant(S + "update-maintenance-off.sh", "-ne 1 ]; then", "-gt 2 ]; then", "maintenance_off",
           why="a group split across nodes passes"),
    # update-check.sh
    Mutant(S + "update-check.sh", "if [ \"$problems\" -ne 0 ]; then", "if false; then", "check_",
           why="success on an unhealthy cluster"),
    Mutant(S + "update-check.sh", "if group_in_maintenance; then", "if ! group_in_maintenance; then", "check_"),
    Mutant(S + "update-check.sh", "if cluster_in_maintenance; then", "if ! cluster_in_maintenance; then", "check_"),
    Mutant(S + "update-check.sh", "if [ \"$failures\" -ne 0 ]; then", "if [ \"$failures\" -gt 1 ]; then", "check_"),
    Mutant(S + "update-check.sh", "\"$(printf '%s\\n' \"$found\" | grep -c .)\" -ne 1",
           "\"$(printf '%s\\n' \"$found\" | grep -c .)\" -gt 1", "check_"),
    # update-common.sh: the release comparison, maintenance, the VIP holder
    Mutant(S + "update-common.sh", "= \"$release\" ]", "!= \"\" ]", "release"),
    Mutant(S + "update-common.sh", "= \"$release\" ]", "= \"${release%?}\" ]", "release"),
    Mutant(S + "update-common.sh",
           "[ \"$(crm_resource --resource \"$group\" --meta --get-parameter maintenance --quiet 2>/dev/null || true)\" = true ]",
           "true",
           "maintenance or packages or post_install"),
    Mutant(S + "update-common.sh", "grep -qxF \"$vip\"", "grep -qF \"$vip\"", "post_install or packages"),
    # update-post-install.sh
    Mutant(S + "update-post-install.sh", "if ! holds_vip; then", "if holds_vip; then", "post_install"),
    Mutant(S + "update-post-install.sh", "[ \"$rc\" -eq 3 ] &&", "[ \"$rc\" -ge 1 ] &&", "post_install"),
    # filesystems-create.sh: never mkfs a device that holds a filesystem
    Mutant(S + "filesystems-create.sh", "ensure_label \"$dev\" \"$found\" \"$label\" \"$legacy\" \"$dir\" \"$fs\" ;;",
           "ensure_label \"$dev\" \"$found\" \"$label\" \"$legacy\" \"$dir\" \"$fs\" ;&", "mkfs",
           why="a device holding a filesystem falls through to mkfs"),
    Mutant(S + "filesystems-create.sh", "    *) fail \"blkid could not", "    1) fail \"blkid could not", "mkfs"),
    Mutant(S + "filesystems-create.sh", "if grep -q \"^$dev \" /proc/mounts", "if false", "mkfs"),
    Mutant(S + "filesystems-create.sh", "-q -L \"$label\" \"$dev\"; else", "-q -f -L \"$label\" \"$dev\"; else", "mkfs"),
    # cluster-start.sh: both members
    Mutant(S + "cluster-start.sh", "grep -qx 2", "grep -qx 1", "cluster_start"),
    Mutant(S + "cluster-start.sh", "grep -c ' member' | grep -qx 2", "grep -q ' member'", "cluster_start"),
    # corosync-authkey.sh
    Mutant(S + "corosync-authkey.sh", "&& corosync-cfgtool -s >/dev/null 2>&1; then",
           "&& ! corosync-cfgtool -s >/dev/null 2>&1; then", "authkey"),
    Mutant(S + "corosync-authkey.sh", "install_stdin \"$authkey\" 0400", "install_stdin \"$authkey\" 0440", "authkey"),
    # storage-target.sh: the CHAP rotation, re-create only without sessions
    # (the incoming account's delete-before-create: its bind line, without --outgoing, makes the text unique)
    Mutant(S + "storage-target.sh",
           "  if account_exists \"$user\"; then\n    tgtadm --lld iscsi --mode account --op delete --user \"$user\"\n  fi\n"
           "  tgtadm --lld iscsi --mode account --op new --user \"$user\" --password \"$password\"\n"
           "  tgtadm --lld iscsi --mode account --op bind --tid \"$tid\" --user \"$user\"\n",
           "  if false; then\n    tgtadm --lld iscsi --mode account --op delete --user \"$user\"\n  fi\n"
           "  tgtadm --lld iscsi --mode account --op new --user \"$user\" --password \"$password\"\n"
           "  tgtadm --lld iscsi --mode account --op bind --tid \"$tid\" --user \"$user\"\n", "chap or target"),
    Mutant(S + "storage-target.sh",
           "  tgtadm --lld iscsi --mode account --op bind --tid \"$tid\" --user \"$rotation_account\"\n", "",
           "chap or target", why="the target without an account: logins without CHAP"),
    Mutant(S + "storage-target.sh", "\nset_chap_secret\n#", "\n#", "chap or target"),
    Mutant(S + "storage-target.sh", "if [ -n \"$differences\" ] && [ -z \"$sessions\" ]; then",
           "if [ -n \"$differences\" ]; then", "target"),
    # secret files' modes
    Mutant(S + "iscsi-login.sh", "conf=$(install_stdin \"$iscsid_conf\" 0600", "conf=$(install_stdin \"$iscsid_conf\" 0644",
           "node_secret and 0-dev", SECRETS),
    Mutant(S + "bluemind-apt-source.sh", "install_stdin \"$apt_source_path\" 0600",
           "install_stdin \"$apt_source_path\" 0644", "node_secret and 0-prod", SECRETS),
    Mutant(S + "bmc-password.sh", "install_stdin \"$password_file\" 0600", "install_stdin \"$password_file\" 0640",
           "node_secret and 1-lab", SECRETS),
    Mutant(S + "bmc-password.sh", "install -d -m 0700", "install -d -m 0755", "node_secret and 1-lab", SECRETS),
    Mutant(S + "storage-target.sh", "install_stdin \"$conf\" 0600", "install_stdin \"$conf\" 0644", "storage_host",
           SECRETS),
    Mutant(S + "virtualbmc.sh", "install_stdin \"$dir/config\" 0600", "install_stdin \"$dir/config\" 0644",
           "hypervisor", SECRETS),
    # the renderers: complete sets
    Mutant("components/sizing.py", 'V5_DIRECTORIES = ("/var/spool/bm-hollowed", "/var/spool/bm-mapi")',
           'V5_DIRECTORIES = ("/var/spool/bm-hollowed",)', "", SETS),
    Mutant("components/services.py", "    _EAS, _YSNP, _MILTER, _LMTPD,\n    Service(\"bm-mapi\"",
           "    _EAS, _YSNP, _MILTER,\n    Service(\"bm-mapi\"", "", SETS, why="mail delivery dropped"),
    Mutant("components/render/cib.py", '            ("stonith-timeout", f"{s.cluster.stonith_timeout_s}s"),\n', "",
           "", SETS),
    Mutant("components/render/corosync.py", 'f"        linknumber: {link}"', 'f"        linknumber: 0"', "", SETS),
    Mutant("components/render/cib.py", '("select_nodes", "select_fencing", "select_resources")',
           '("select_nodes", "select_resources")', "", SETS),
)


def run(mutant: Mutant) -> str:
    path = ROOT / mutant.file
    original = path.read_text()
    if original.count(mutant.old) != 1:
        return "BAD"
    try:
        path.write_text(original.replace(mutant.old, mutant.new))
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *mutant.tests,
                                 *(["-k", mutant.select] if mutant.select else [])],
                                cwd=ROOT, capture_output=True, text=True)
    finally:
        path.write_text(original)
    return "SURVIVED" if result.returncode == 0 else "KILLED"


def main() -> int:
    bad = 0
    for m in MUTANTS:
        verdict = run(m)
        bad += verdict != "KILLED"
        first = m.old.splitlines()[0].strip()
        print(f"{verdict:8} {m.file}: {first[:60]!r}{' (' + m.why + ')' if m.why else ''}", flush=True)
    print(f"{len(MUTANTS) - bad}/{len(MUTANTS)} guard mutants killed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
