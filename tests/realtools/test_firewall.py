"""The host firewall with the real nft and the real kernel (components/render/firewall.py).

- Every stack's ruleset, for each node and in the settings' variants, passes `nft -c -f` (in a network namespace
  of its own: this machine's ruleset is never read or touched), and so does the plan's NN-firewall.stdin.
- Real packets through the loaded ruleset: test_firewall_packets.py.
- The firewall step itself, run as root in a sandbox with a private network: it loads and persists the table,
  a re-run changes nothing, an admin's own table survives, and `firewall.enabled: false` removes ours.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from components.render.firewall import firewall_script, render_ruleset
from tests.conftest import require_root, require_tool
from tests.realtools.sandbox import Sandbox
from tests.stacks import settings_with
from tools.stackfile import load_settings

VARIANTS = {
    "default": {},
    "output-open": {"output": "open"},
    "overlapping-admin-networks": {"admin_networks": ["10.0.0.0/8", "10.20.0.0/24", "192.0.2.7/32"]},
}


def _nft_check(ruleset: str) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "--net", "nft", "-c", "-f", "-"], input=ruleset, capture_output=True, text=True,
                          timeout=30)


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_every_nodes_ruleset_passes_nft_check(stack):
    require_root()
    require_tool("nft", "unshare")
    s = load_settings(stack)
    for node in s.nodes:
        result = _nft_check(render_ruleset(s, node))
        assert result.returncode == 0, f"{node.name}: {result.stderr}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_variants_pass_nft_check(variant):
    require_root()
    require_tool("nft", "unshare")
    s = settings_with("prod", VARIANTS[variant])
    result = _nft_check(render_ruleset(s, s.nodes[0]))
    assert result.returncode == 0, result.stderr


def test_nft_check_refuses_a_broken_ruleset():
    """The check is a real one: nft refuses what is wrong."""
    require_root()
    require_tool("nft", "unshare")
    s = load_settings("prod")
    assert _nft_check(render_ruleset(s, s.nodes[0]).replace("tcp dport 22", "tcp dport ssh-nope")).returncode != 0


def test_the_plans_firewall_payload_is_the_rendered_ruleset_and_passes_nft_check(tmp_path):
    require_root()
    require_tool("nft", "unshare")
    from tools.plan import write_plan

    s = write_plan("prod", tmp_path)
    for node in s.nodes:
        payload = tmp_path / "nodes" / node.name / "12-firewall.stdin"
        assert payload.read_text() == render_ruleset(s, node)
        assert (tmp_path / "nodes" / node.name / "12-firewall.sh").is_file()
        result = _nft_check(payload.read_text())
        assert result.returncode == 0, result.stderr


# --- the step ---------------------------------------------------------------------------------------------
SYSTEMCTL_STUB = "#!/bin/sh\necho \"systemctl $*\" >> /etc/bluemind-ha/systemctl.log\n"


def _step_sandbox(tmp_path: Path) -> Sandbox:
    """A private network (the table lands there) and /etc writes in the test's directory; systemctl (no systemd
    here) is a stub that logs its calls."""
    stub = tmp_path / "systemctl"
    stub.write_text(SYSTEMCTL_STUB)
    stub.chmod(0o755)
    return Sandbox(binds={"/usr/bin/systemctl": stub}, overlays={"/etc": tmp_path / "etc"}, private_network=True)


def test_the_step_loads_persists_keeps_other_tables_and_a_rerun_changes_nothing(tmp_path):
    require_root()
    require_tool("nft", "unshare")
    s = load_settings("prod")
    node = s.nodes[0]
    step = tmp_path / "12-firewall.sh"
    step.write_text(firewall_script(s, node))
    ruleset = render_ruleset(s, node)
    (tmp_path / "rules").write_text(ruleset)
    admins = "nft add table inet admin && nft add chain inet admin input '{ type filter hook input priority 10; }'"
    result = _step_sandbox(tmp_path).run(
        f"mkdir -p /etc/bluemind-ha; {admins} && bash {step} < {tmp_path}/rules && echo --- && bash {step} "
        f"< {tmp_path}/rules && echo --- && nft list tables && nft list set inet bluemind_ha admin_networks")
    first, second, listing = result.stdout.split("---\n")
    assert "table inet bluemind_ha loaded" in first and "changed" in first
    assert [line for line in second.splitlines() if line.endswith("changed")] == ["unchanged", "unchanged"]
    assert "table inet admin" in listing and "table inet bluemind_ha" in listing and "10.20.0.0/24" in listing
    etc = tmp_path / "etc"
    assert (etc / "bluemind-ha" / "nftables.conf").read_text() == ruleset
    assert (etc / "bluemind-ha" / "nftables.conf").stat().st_mode & 0o777 == 0o600
    assert "ExecStart=/usr/sbin/nft -f /etc/bluemind-ha/nftables.conf" in (
        etc / "systemd" / "system" / "bluemind-ha-firewall.service").read_text()
    assert "systemctl enable --quiet bluemind-ha-firewall.service" in (etc / "bluemind-ha" / "systemctl.log").read_text()


def test_disabled_the_step_removes_our_table_file_and_unit_only(tmp_path):
    require_root()
    require_tool("nft", "unshare")
    on, off = load_settings("prod"), settings_with("prod", {"enabled": False})
    node = on.nodes[0]
    (tmp_path / "on.sh").write_text(firewall_script(on, node))
    (tmp_path / "off.sh").write_text(firewall_script(off, node))
    (tmp_path / "rules").write_text(render_ruleset(on, node))
    result = _step_sandbox(tmp_path).run(
        f"mkdir -p /etc/bluemind-ha; nft add table inet admin && bash {tmp_path}/on.sh < {tmp_path}/rules && "
        f"bash {tmp_path}/off.sh && nft list tables")
    assert "table inet admin" in result.stdout and "bluemind_ha" not in result.stdout.split("is off")[-1]
    etc = tmp_path / "etc"
    assert not (etc / "bluemind-ha" / "nftables.conf").exists()
    assert not (etc / "systemd" / "system" / "bluemind-ha-firewall.service").exists()
    assert "systemctl disable --quiet bluemind-ha-firewall.service" in (etc / "bluemind-ha" / "systemctl.log").read_text()


# --- the SSH session pulumi uses ------------------------------------------------------------------------------
def test_the_step_never_locks_out_the_machine_running_pulumi(tmp_path):
    """The step run over a real SSH session, as pulumi runs it, from three addresses: an admin network's
    (kept), a stranger's (refused: the previous rules are put back and the step fails naming the setting), the
    peer's (kept). One network namespace, every address on its loopback, where the clients reach sshd on port 22."""
    require_root()
    require_tool("nft", "unshare", "sshd", "ssh", "ssh-keygen", "ip", "timeout")
    s = load_settings("prod")
    node = s.nodes[0]
    ns = f"bmfw{os.getpid() % 100000}-ssh"
    (tmp_path / "step.sh").write_text(firewall_script(s, node))
    (tmp_path / "rules").write_text(render_ruleset(s, node))
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)], check=True)
    (tmp_path / "authorized_keys").write_text((tmp_path / "client.pub").read_text())
    stub = tmp_path / "systemctl"
    stub.write_text(SYSTEMCTL_STUB)
    stub.chmod(0o755)
    upper, work = tmp_path / "etc", tmp_path / "etc.work"
    upper.mkdir()
    work.mkdir()
    sshd = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        def ip(*argv):
            return subprocess.run(["ip", "-n", ns, *argv], check=True)
        ip("link", "set", "lo", "up")
        for address in ("10.20.0.11/24", "10.20.0.12/24", "10.20.0.99/24", "192.0.2.7/24"):
            ip("addr", "add", address, "dev", "lo")
        # sshd as on the node: /etc writes land in the test's directory, systemctl is the stub.
        setup = (f"mount -t proc proc /proc && mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && "
                 f"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} /etc && "
                 f"mkdir -p /etc/bluemind-ha && mount --bind {stub} /usr/bin/systemctl && exec \"$@\"")
        sshd = subprocess.Popen(
            ["timeout", "120", "ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "--pid",
             "--fork", "sh", "-c", setup, "sshd", shutil.which("sshd"), "-D", "-e", "-f", "/dev/null",
             "-h", str(tmp_path / "host"), "-o", "ListenAddress=10.20.0.11:22",
             "-o", f"AuthorizedKeysFile={tmp_path / 'authorized_keys'}", "-o", "StrictModes=no",
             "-o", "PidFile=none", "-o", "PasswordAuthentication=no", "-o", "PermitRootLogin=prohibit-password"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

        def over_ssh(source: str, command: str, stdin: str = "") -> subprocess.CompletedProcess:
            return subprocess.run(
                ["ip", "netns", "exec", ns, "ssh", "-b", source, "-i", str(tmp_path / "client"), "-o", "BatchMode=yes",
                 "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
                 "-o", "LogLevel=ERROR", "root@10.20.0.11", command], input=stdin, capture_output=True, text=True,
                timeout=60)

        for _ in range(50):
            if over_ssh("10.20.0.99", "true").returncode == 0:
                break
            time.sleep(0.2)
        rules = (tmp_path / "rules").read_text()
        # sudo drops SSH_CONNECTION: then the step finds the client through its ancestors' SSH connection.
        step = f"env -u SSH_CONNECTION /bin/bash {tmp_path / 'step.sh'}"
        admin = over_ssh("10.20.0.99", step, rules)
        assert admin.returncode == 0, admin.stderr
        assert "table inet bluemind_ha loaded" in admin.stdout
        stranger = over_ssh("192.0.2.7", step, rules)
        assert stranger.returncode == 1
        assert "192.0.2.7" in stranger.stderr and "firewall.admin_networks" in stranger.stderr
        # The previous rules are back (the persisted file), not none and not the refused ones.
        assert "set admin_networks" in over_ssh("10.20.0.99", "nft list table inet bluemind_ha").stdout
        peer = over_ssh("10.20.0.12", step, rules)
        assert peer.returncode == 0, peer.stderr
        # With no previous rules, a refused load leaves no table at all.
        assert over_ssh("10.20.0.99", "rm /etc/bluemind-ha/nftables.conf && nft delete table inet bluemind_ha"
                        ).returncode == 0
        assert over_ssh("192.0.2.7", step, rules).returncode == 1
        assert "bluemind_ha" not in over_ssh("10.20.0.99", "nft list tables").stdout
        # As root, SSH_CONNECTION names the client directly.
        direct = f"/bin/bash {tmp_path / 'step.sh'}"
        assert over_ssh("192.0.2.7", direct, rules).returncode == 1
        assert over_ssh("10.20.0.99", direct, rules).returncode == 0
    finally:
        if sshd is not None:
            os.killpg(sshd.pid, signal.SIGTERM)
            sshd.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


# --- corosync's own ports -------------------------------------------------------------------------------------
def test_corosync_listens_exactly_where_the_firewall_opens(tmp_path):
    """The real corosync, with prod's rendered corosync.conf (two knet links), as bm-prod-a in a network namespace
    of its own: the UDP address:port pairs it binds are exactly those the input chain opens to the peer."""
    require_root()
    require_tool("corosync", "corosync-keygen", "unshare", "nsenter", "ss")
    from components.render.corosync import render_corosync
    from tests.test_render_firewall import inbound

    s = load_settings("prod")
    node = s.nodes[0]
    etc, lib, logs = tmp_path / "etc", tmp_path / "lib", tmp_path / "log"
    for directory in (etc, lib, logs):
        directory.mkdir()
    (etc / "corosync.conf").write_text(render_corosync(s))
    subprocess.run(["corosync-keygen", "-k", str(etc / "authkey")], check=True, capture_output=True, timeout=30)
    setup = (f"ip link set lo up && ip addr add {node.ip}/24 dev lo && ip addr add {node.link1_ip}/30 dev lo && "
             f"mount --bind {etc} /etc/corosync && mount --bind {lib} /var/lib/corosync && "
             f"mount --bind {logs} /var/log/corosync && mount -t tmpfs tmpfs /run && exec corosync -f")
    corosync = subprocess.Popen(["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", setup],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bound: set[tuple[str, int]] = set()
        for _ in range(50):
            listing = subprocess.run(["nsenter", "-t", str(corosync.pid), "--net", "ss", "-Hulnp"],
                                     capture_output=True, text=True, timeout=10).stdout
            bound = {(local.rsplit(":", 1)[0], int(local.rsplit(":", 1)[1]))
                     for line in listing.splitlines() if "corosync" in line for local in [line.split()[3]]}
            if len(bound) >= 2:
                break
            time.sleep(0.2)
    finally:
        corosync.terminate()
        corosync.wait(timeout=30)
    opened = {(dest, port) for proto, port, source, dest in inbound(render_ruleset(s, node))
              if proto == "udp" and source in (s.nodes[1].ip, s.nodes[1].link1_ip)}
    assert bound == opened == {(node.ip, 5405), (node.link1_ip, 5406)}
