"""The steps that prepare a node the first time, run for real as root in a sandbox (tests/realtools/sandbox.py):
they do their work on a fresh node, and a re-run on a node of a live cluster takes nothing down.

- filesystems: real mkfs.xfs on loop devices under their production /dev/disk/by-path names: a filesystem is
  created once, seeded from the directory, and never made again over data; an existing (mounted) mount point
  keeps its mode.
- corosync-authkey: a real corosync runs in the sandbox's own network: a different key is refused while it
  runs, and the running key stays.
- cluster-packages checks the host's name first (a private UTS namespace names the host) and renames it only
  when the stack says so.
- cluster-packages and bluemind-packages install packages: apt-get, dpkg-query, systemctl and hostnamectl
  are stand-ins that log their calls (no package is installed here, and systemd does not run here).
"""
from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from components.names import by_path_device
from components.render.corosync import AUTHKEY_PATH, render_corosync
from components.render.node_scripts import (
    bluemind_apt_source,
    bluemind_packages,
    cluster_packages,
    corosync_authkey,
    filesystems,
)
from components.render.update import apt_keyring, apt_source_line, first_install_pin
from tests.conftest import require_root, require_tool
from tests.realtools.stand_in_host import Node
from tests.stacks import settings_with
from tools.stackfile import load_settings


@pytest.fixture
def node(tmp_path):
    require_root()
    require_tool("unshare")
    return Node(tmp_path)


# --- cluster-packages ---------------------------------------------------------------------------------------
def test_cluster_packages_stop_debians_example_corosync_but_never_a_configured_cluster(tmp_path):
    require_root()
    require_tool("unshare")
    node = Node(tmp_path, hostname="bm1")
    s = load_settings("dev")
    script = cluster_packages(s, s.nodes[0])
    node.run(script)
    fresh = node.logged()
    assert "systemctl disable --quiet corosync.service pacemaker.service" in fresh
    assert "systemctl stop pacemaker.service corosync.service" in fresh   # Debian started its example
    assert not [c for c in fresh if c.startswith("hostnamectl")], "a host of the node's name is left as it is"

    node.calls.unlink()
    configured = node.written("/etc/corosync/corosync.conf")
    configured.parent.mkdir(parents=True, exist_ok=True)
    configured.write_text(render_corosync(s))
    node.run(script)
    rerun = node.logged()
    assert "systemctl disable --quiet corosync.service pacemaker.service" in rerun  # never at boot
    assert not [c for c in rerun if c.startswith("systemctl stop")], "a re-run must not stop the cluster"


@pytest.mark.parametrize("current", ["debian", "bm1.example.com"])
def test_an_existing_host_of_another_name_is_refused_before_anything_changes_unless_the_stack_renames_it(
        tmp_path, current):
    require_root()
    require_tool("unshare")
    s = load_settings("prod")
    node = Node(tmp_path, hostname=current)
    refused = node.run(cluster_packages(s, s.nodes[1]), check=False)
    assert refused.returncode == 1
    for said in (f"named '{current}'", "calls it 'bm-prod-b' (nodes[1].name)", f'set nodes[1].name to "{current}"',
                 "stacks/Pulumi.prod.yaml", "'rename_host: true' to nodes[1]", "Nothing was changed"):
        assert said in refused.stderr, refused.stderr
    assert node.logged() == [], "nothing may run before the name is checked"

    renaming = settings_with("prod", nodes=({}, {"rename_host": True}))
    renamed = node.run(cluster_packages(renaming, renaming.nodes[1]))
    assert node.logged()[0] == "hostnamectl set-hostname bm-prod-b"
    assert f"renamed this host from '{current}' to 'bm-prod-b'" in renamed.stdout
    assert "apt-get install -y -qq --no-install-recommends --no-upgrade corosync" in " ".join(node.logged())


# --- bluemind-packages --------------------------------------------------------------------------------------
def test_the_subscriptions_apt_source_is_installed_root_only_and_replaced_when_renewed(node):
    s = load_settings("dev")
    source = node.written("/etc/apt/sources.list.d/bluemind.list")
    url = "https://pkg.bluemind.net/bm/5.3/0123456789abcdef0123/bookworm"
    result = node.run(bluemind_apt_source(s, s.nodes[0]), apt_source_line(url))
    assert source.read_text() == f"deb {url} bluemind main\n" and url not in result.stdout + result.stderr
    assert source.stat().st_mode & 0o777 == 0o600 and source.stat().st_uid == 0
    renewed = url.replace("0123", "9999")
    node.run(bluemind_apt_source(s, s.nodes[0]), apt_source_line(renewed))
    assert source.read_text() == f"deb {renewed} bluemind main\n"
    assert not [c for c in node.logged() if c.startswith("apt-get")], "a renewed subscription upgrades nothing"


def test_the_repositorys_signing_key_is_installed_readable_by_apt_and_named_by_the_source(node):
    """bluemind.apt_signing_key: /etc/apt/keyrings/bluemind.asc (0644, root, in a 0755 directory: apt's methods
    check signatures as _apt), written before the source line that names it with signed-by; a re-run rewrites
    neither."""
    from tests.settings_refusal_cases import PGP_PUBLIC_KEY
    s = settings_with("prod", bluemind={"apt_signing_key": PGP_PUBLIC_KEY})
    url = "https://pkg.bluemind.net/bm/5.3/0123456789abcdef0123/bookworm"
    script, line = bluemind_apt_source(s, s.nodes[0]), apt_source_line(url, apt_keyring(s))
    result = node.run(script, line)
    key, source = node.written("/etc/apt/keyrings/bluemind.asc"), node.written("/etc/apt/sources.list.d/bluemind.list")
    assert key.read_text() == PGP_PUBLIC_KEY
    assert key.stat().st_mode & 0o777 == 0o644 and key.stat().st_uid == 0
    assert key.parent.stat().st_mode & 0o777 == 0o755
    assert source.read_text() == f"deb [signed-by=/etc/apt/keyrings/bluemind.asc] {url} bluemind main\n"
    assert source.stat().st_mode & 0o777 == 0o600 and url not in result.stdout + result.stderr
    states = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (key, source)]
    node.run(script, line)
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in (key, source)] == states, "a re-run rewrites nothing"
    assert not [c for c in node.logged() if c.startswith("apt-get")]


def _signed_repository(tmp_path: Path) -> tuple[Path, str]:
    """A one-suite apt repository (suite bluemind, component main, no packages) whose InRelease is signed by a
    key made here; returns it and that key, ASCII-armored."""
    require_tool("gpg", "apt-get")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet", "--passphrase", ""]
    subprocess.run([*gpg, "--quick-gen-key", "repository <repo@bluemind-ha.invalid>", "ed25519", "sign", "never"],
                   check=True, capture_output=True, timeout=60)
    repo = tmp_path / "repo"
    suite = repo / "dists" / "bluemind"
    (suite / "main" / "binary-amd64").mkdir(parents=True)
    (suite / "main" / "binary-amd64" / "Packages").write_text("")
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    (suite / "Release").write_text("Origin: test\nSuite: bluemind\nCodename: bluemind\nArchitectures: amd64\n"
                                   "Components: main\nDate: Tue, 01 Dec 2026 00:00:00 UTC\n"
                                   f"SHA256:\n {empty} 0 main/binary-amd64/Packages\n")
    subprocess.run([*gpg, "--yes", "--clearsign", "-o", str(suite / "InRelease"), str(suite / "Release")], check=True,
                   capture_output=True, timeout=60)
    key = subprocess.run([*gpg, "--armor", "--export"], check=True, capture_output=True, text=True, timeout=60).stdout
    return repo, key


@pytest.mark.parametrize("signer", ["the-stacks-key", "another-key"])
def test_apt_accepts_the_source_only_when_signed_by_the_installed_key(tmp_path, signer):
    """The real apt-get update, on the source and key the step installed: a repository signed by the stack's key
    is read; with another key in bluemind.apt_signing_key, apt refuses it (signed-by is enforced)."""
    from tests.settings_refusal_cases import PGP_PUBLIC_KEY
    require_root()
    require_tool("unshare")
    repo, key = _signed_repository(tmp_path)
    node = Node(tmp_path / "node")
    stacks_key = key if signer == "the-stacks-key" else PGP_PUBLIC_KEY
    s = settings_with("prod", bluemind={"apt_signing_key": stacks_key})
    node.run(bluemind_apt_source(s, s.nodes[0]), apt_source_line(f"file:{repo}", apt_keyring(s)))
    update = node.run("apt-get update -o Dir::Etc::SourceList=/etc/apt/sources.list.d/bluemind.list "
                      "-o Dir::Etc::SourceParts=/nonexistent", stand_ins=False, check=False)
    if signer == "the-stacks-key":
        assert update.returncode == 0 and "bluemind InRelease" in update.stdout, update.stdout + update.stderr
        assert "NO_PUBKEY" not in update.stderr
    else:
        assert update.returncode != 0 and "NO_PUBKEY" in update.stdout + update.stderr, update.stdout + update.stderr


def test_bluemind_is_installed_once_with_the_stdin_pin_with_no_service_started(node):
    s = load_settings("dev")
    pin = first_install_pin(s)
    result = node.run(bluemind_packages(s, s.nodes[0]), pin,
                      after="[ -e /usr/sbin/policy-rc.d ] && echo 'policy-rc.d is left'")
    calls = node.logged()
    # Package scripts saw policy-rc.d answer 101: nothing started while the LUNs are not mounted.
    assert "apt-get install -y -qq bluemind-full (policy-rc.d: 101)" in calls
    assert "policy-rc.d is left" not in result.stdout
    assert node.written("/etc/apt/preferences.d/bluemind-ha").read_text() == pin
    for unit in ("bm-core.service", "postgresql.service", "lsyncd.service"):
        assert f"systemctl disable --quiet {unit}" in calls and f"systemctl stop {unit}" in calls


def test_a_rerun_on_an_installed_node_installs_pins_and_stops_nothing(node):
    s = load_settings("dev")
    result = node.run(bluemind_packages(s, s.nodes[0]), first_install_pin(s), env="BLUEMIND_INSTALLED=4.9.4-1")
    calls = node.logged()
    assert "BlueMind 4.9.4-1 is installed" in result.stdout
    assert not [c for c in calls if c.startswith(("apt-get", "systemctl stop"))], calls
    assert "systemctl disable --quiet bm-core.service" in calls
    # The update chain pinned 4.9.4: the first install's 4.9.3 pin must not come back.
    assert not node.written("/etc/apt/preferences.d/bluemind-ha").exists()


def test_an_admins_policy_rc_d_is_never_replaced(node):
    s = load_settings("dev")
    theirs = node.written("/usr/sbin/policy-rc.d")
    theirs.parent.mkdir(parents=True, exist_ok=True)
    theirs.write_text("#!/bin/sh\nexit 0\n")
    result = node.run(bluemind_packages(s, s.nodes[0]), first_install_pin(s), check=False)
    assert result.returncode == 1 and "is not bluemind-ha's" in result.stderr
    assert theirs.read_text() == "#!/bin/sh\nexit 0\n"
    assert not [c for c in node.logged() if c.startswith("apt-get install")]


# --- filesystems --------------------------------------------------------------------------------------------
MAIL_SPOOL, POSTGRESQL_DATA = "/var/spool/cyrus", "/var/lib/postgresql"


@pytest.fixture
def luns(tmp_path):
    """The dev stack's LUNs as loop devices (sparse images): among them a fresh directory (the mail spool) and
    one the packages filled (PostgreSQL's)."""
    require_tool("losetup", "mkfs.xfs", "blkid")
    s = load_settings("dev")
    devices = []
    try:
        for lun in s.storage.luns:
            image = tmp_path / f"lun{lun.number}.img"
            subprocess.run(["truncate", "-s", "320M", str(image)], check=True)  # mkfs.xfs' minimum is 300 MB
            devices.append(subprocess.run(["losetup", "--find", "--show", str(image)], check=True,
                                          capture_output=True, text=True, timeout=30).stdout.strip())
        yield s, devices
    finally:
        for device in devices:
            subprocess.run(["losetup", "--detach", device], timeout=30)


def test_filesystems_are_made_once_seeded_and_never_made_again_over_data(node, luns):
    require_tool("mkfs.xfs")
    s, devices = luns
    by_path = "\n".join(f"ln -sf {dev} {by_path_device(s, lun)}" for lun, dev in zip(s.storage.luns, devices, strict=True))
    udev = f"mkdir -p /dev/disk/by-path\n{by_path}"
    script = filesystems(s, s.nodes[0])

    device_of = {lun.directory: dev for lun, dev in zip(s.storage.luns, devices, strict=True)}
    first = node.run(script, stand_ins=False, before=udev)
    assert first.stdout.count("new xfs filesystem") == len(devices), first.stdout
    labels = {d: subprocess.run(["blkid", "-s", "LABEL", "-o", "value", dev], capture_output=True,
                                text=True).stdout.strip() for d, dev in device_of.items()}
    assert labels == {lun.directory: lun.fs_label for lun in s.storage.luns}
    assert (labels[MAIL_SPOOL], labels[POSTGRESQL_DATA]) == ("cyrus", "lib-postgres")
    seeded = subprocess.run(["unshare", "--mount", "sh", "-c", f"mount {device_of[POSTGRESQL_DATA]} /mnt && ls -A /mnt"],
                            capture_output=True, text=True, timeout=30).stdout.split()
    assert seeded and set(seeded) == set(p.name for p in Path("/var/lib/postgresql").iterdir())

    # Mail arrives, then the step runs again (an edited script, a new SSH key): the mail stays.
    subprocess.run(["unshare", "--mount", "sh", "-c", f"mount {device_of[MAIL_SPOOL]} /mnt && echo mail > /mnt/1. && umount /mnt"],
                   check=True, timeout=30)
    # The group runs here: the spool is mounted, with the mode cyrus gave it.
    spool = next(lun for lun in s.storage.luns if lun.directory == MAIL_SPOOL)
    mounted = f"mount {by_path_device(s, spool)} /var/spool/cyrus && chmod 0750 /var/spool/cyrus"
    again = node.run(script, stand_ins=False, before=f"{udev}\n{mounted}",
                     after="stat -c 'mode %a' /var/spool/cyrus; cat /var/spool/cyrus/1.")
    assert again.stdout.count("already holds xfs: kept") == len(devices) and "new xfs" not in again.stdout
    assert "mode 750" in again.stdout and "mail" in again.stdout


def test_the_passive_node_only_makes_its_mount_points(node, luns):
    s, _ = luns
    # Before the cluster exists the primary creates the filesystems; the passive node's step makes none.
    # Seen from inside the node: this machine may already have some of the directories (an overlay shows them).
    result = node.run(filesystems(s, s.nodes[1]), stand_ins=False,
                      after="".join(f"[ -d {lun.directory} ] || echo missing {lun.directory}\n" for lun in s.storage.luns))
    assert result.returncode == 0 and "new xfs" not in result.stdout and "(was " not in result.stdout
    assert "missing" not in result.stdout, result.stdout


# --- corosync-authkey ---------------------------------------------------------------------------------------
def test_a_new_authkey_is_refused_while_corosync_runs_and_installed_when_it_does_not(tmp_path):
    require_root()
    require_tool("unshare", "corosync", "corosync-keygen", "corosync-cfgtool")
    s = load_settings("dev")
    node = Node(tmp_path / "node", hostname=s.nodes[0].name, private_network=True)
    keys = []
    for name in ("running", "rotated"):
        subprocess.run(["corosync-keygen", "-k", str(tmp_path / name)], check=True, capture_output=True, timeout=30)
        keys.append((tmp_path / name).read_bytes())
    stdin_of = [base64.b64encode(k).decode() + "\n" for k in keys]
    script = corosync_authkey(s, s.nodes[0])

    installed = node.run(script, stdin_of[0], stand_ins=False)
    assert installed.stdout.strip() == "changed"
    key_file = node.written(AUTHKEY_PATH)
    assert key_file.read_bytes() == keys[0] and key_file.stat().st_mode & 0o777 == 0o400

    # A real corosync of this node, on its own network, with the installed key: then the rotated key comes.
    conf = node.written("/etc/corosync/corosync.conf")
    conf.write_text(render_corosync(s))
    corosync_up = ("ip link set lo up && ip addr add 192.168.150.11/24 dev lo\n"
                   "corosync -f >/dev/null 2>&1 & corosync_pid=$!\n"
                   "for _ in $(seq 50); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.2; done\n"
                   "corosync-cfgtool -s >/dev/null")
    refused = node.run(script, stdin_of[1], stand_ins=False, check=False, before=corosync_up,
                       after="kill $corosync_pid")
    assert refused.returncode == 1 and "Rotate it on both nodes at once" in refused.stderr
    assert key_file.read_bytes() == keys[0], "the running key stays"
