"""The host firewall with the real nft and the real kernel (components/render/firewall.py).

- Every stack's ruleset, for each node and in the settings' variants, passes `nft -c -f` (in a network namespace
  of its own: this machine's ruleset is never read or touched), and so does the plan's NN-firewall.stdin.
- Loaded in a network namespace standing for bm-prod-a, wired by a veth to one standing for the rest of the
  network (the peer, an admin, a stranger on the client LAN, the portal, the BMCs): real connections pass
  exactly where the issue says and nowhere else, both ways.
- The firewall step itself, run as root in a sandbox with a private network: it loads and persists the table,
  a re-run changes nothing, an admin's own table survives, and `firewall.enabled: false` removes ours.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
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


# --- real packets -------------------------------------------------------------------------------------------
# bm-prod-a (10.20.0.11, link 1 10.21.0.1, storage 10.22.0.11) holding the VIP 10.20.0.50; everything else is
# "outside", the SAN's portal on the storage network.
NODE_ADDRESSES = ["10.20.0.11/24", "10.20.0.50/24", "10.21.0.1/30", "10.22.0.11/24"]
OUTSIDE_ADDRESSES = {"peer": "10.20.0.12/24", "peer-link1": "10.21.0.2/30", "admin": "10.20.0.99/24",
                     "stranger": "192.0.2.7/24", "portal": "10.22.0.40/24", "other-target": "10.22.0.41/24",
                     "peer-bmc": "10.30.0.12/24", "own-bmc": "10.30.0.11/24"}

# A listener: accepts every TCP connection on the given ports and echoes every UDP datagram.
LISTENER = textwrap.dedent("""
    import socket, sys, threading
    def tcp(port):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen()
        while True:
            s.accept()[0].close()
    def udp(port, address):
        s = socket.socket(type=socket.SOCK_DGRAM); s.bind((address, port))
        while True:
            data, peer = s.recvfrom(100); s.sendto(data, peer)
    for spec in sys.argv[1:]:
        proto, port, *address = spec.split("/")  # udp/623/10.30.0.12: answer from the address asked
        args = (int(port),) if proto == "tcp" else (int(port), address[0] if address else "0.0.0.0")
        threading.Thread(target=tcp if proto == "tcp" else udp, args=args, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
""")
# A probe: from SOURCE to DEST, prints open (answered), refused (reached, no listener), dropped (no answer)
# or blocked (the sender's own output chain refused it with EPERM, as for UDP).
PROBE = textwrap.dedent("""
    import socket, sys
    source, dest, proto, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    s = socket.socket(type=socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.bind((source, 0))
    try:
        if proto == "tcp":
            s.connect((dest, port))
        else:
            s.sendto(b"ping", (dest, port)); s.recvfrom(100)
        print("open")
    except ConnectionRefusedError:
        print("refused")
    except PermissionError:
        print("blocked")
    except (socket.timeout, TimeoutError):
        print("dropped")
""")


@pytest.fixture()
def wired(tmp_path):
    """Two network namespaces joined by a veth: `node` (with the ruleset of bm-prod-a) and `outside`."""
    require_root()
    require_tool("nft", "ip")
    tag = f"bmfw{os.getpid() % 100000}"
    node, outside = f"{tag}-node", f"{tag}-out"
    def sh(*argv):
        return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30)
    listeners = []
    try:
        sh("ip", "netns", "add", node)
        sh("ip", "netns", "add", outside)
        sh("ip", "link", "add", "n0", "netns", node, "type", "veth", "peer", "o0", "netns", outside)
        for ns, dev, addresses in ((node, "n0", NODE_ADDRESSES), (outside, "o0", OUTSIDE_ADDRESSES.values())):
            for address in addresses:
                sh("ip", "-n", ns, "addr", "add", address, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "route", "add", "default", "dev", dev)
        s = load_settings("prod")
        subprocess.run(["ip", "netns", "exec", node, "nft", "-f", "-"], input=render_ruleset(s, s.nodes[0]),
                       check=True, capture_output=True, text=True, timeout=30)

        def listen(ns: str, *specs: str) -> None:
            process = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", LISTENER, *specs],
                                       stdout=subprocess.PIPE, text=True)
            listeners.append(process)
            assert process.stdout.readline().strip() == "ready"

        def probe(ns: str, source: str, dest: str, proto: str, port: int) -> str:
            result = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", PROBE, source, dest, proto,
                                     str(port)], capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stderr
            return result.stdout.strip()

        yield node, outside, listen, probe
    finally:
        for process in listeners:
            process.kill()
            process.wait()
        for ns in (node, outside):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _at(name: str) -> str:
    return OUTSIDE_ADDRESSES[name].split("/")[0]


def test_inbound_only_the_peer_the_admins_and_bluemind_on_the_vip(wired):
    node, outside, listen, probe = wired
    listen(node, "tcp/22", "tcp/443", "tcp/25", "tcp/5432", "tcp/8090", "udp/5405", "udp/5406")
    seen = {(who, dest, proto, port): probe(outside, _at(who), dest, proto, port) for who, dest, proto, port in [
        ("stranger", "10.20.0.50", "tcp", 443), ("stranger", "10.20.0.50", "tcp", 25),
        ("stranger", "10.20.0.11", "tcp", 443),          # BlueMind is on the VIP only
        ("stranger", "10.20.0.50", "tcp", 5432),         # PostgreSQL: internal
        ("stranger", "10.20.0.50", "tcp", 8090),         # bm-core: internal
        ("stranger", "10.20.0.11", "tcp", 22),           # SSH: not from the client LAN
        ("admin", "10.20.0.11", "tcp", 22), ("peer", "10.20.0.11", "tcp", 22),
        ("peer", "10.20.0.11", "udp", 5405), ("peer-link1", "10.21.0.1", "udp", 5406),
        ("admin", "10.20.0.11", "udp", 5405),            # corosync: from the peer only
        ("peer", "10.20.0.50", "udp", 5405),             # ... and on the link addresses only
        ("peer", "10.20.0.11", "tcp", 5432),
    ]}
    assert seen == {
        ("stranger", "10.20.0.50", "tcp", 443): "open", ("stranger", "10.20.0.50", "tcp", 25): "open",
        ("stranger", "10.20.0.11", "tcp", 443): "dropped", ("stranger", "10.20.0.50", "tcp", 5432): "dropped",
        ("stranger", "10.20.0.50", "tcp", 8090): "dropped", ("stranger", "10.20.0.11", "tcp", 22): "dropped",
        ("admin", "10.20.0.11", "tcp", 22): "open", ("peer", "10.20.0.11", "tcp", 22): "open",
        ("peer", "10.20.0.11", "udp", 5405): "open", ("peer-link1", "10.21.0.1", "udp", 5406): "open",
        ("admin", "10.20.0.11", "udp", 5405): "dropped", ("peer", "10.20.0.50", "udp", 5405): "dropped",
        ("peer", "10.20.0.11", "tcp", 5432): "dropped",
    }


def test_the_node_reaches_its_own_services_on_the_vip(wired):
    """BlueMind is installed with the VIP as its identity: its services talk to each other there (bm-core on
    8090, PostgreSQL on 5432), through the loopback interface, which the ruleset leaves open."""
    node, _, listen, probe = wired
    listen(node, "tcp/5432", "tcp/8090")
    assert probe(node, "10.20.0.11", "10.20.0.50", "tcp", 5432) == "open"
    assert probe(node, "10.20.0.50", "10.20.0.50", "tcp", 8090) == "open"


def test_outbound_only_the_peer_the_portal_and_the_peers_bmc(wired):
    node, outside, listen, probe = wired
    listen(outside, "tcp/22", "tcp/3260", f"udp/623/{_at('peer-bmc')}", f"udp/623/{_at('own-bmc')}", "udp/5405",
           "tcp/8080", "tcp/443")
    # iSCSI from the storage address only: from the client address the portal is closed (issue 18 item 1)
    assert probe(node, "10.20.0.11", _at("portal"), "tcp", 3260) == "dropped"
    assert probe(node, "10.22.0.11", _at("other-target"), "tcp", 3260) == "dropped"  # no other iSCSI target
    assert probe(node, "10.22.0.11", _at("portal"), "tcp", 3260) == "open"
    seen = {(dest, proto, port): probe(node, "10.20.0.11", dest, proto, port) for dest, proto, port in [
        (_at("peer"), "tcp", 22), (_at("peer"), "udp", 5405),
        (_at("peer-bmc"), "udp", 623),
        (_at("own-bmc"), "udp", 623),          # a node never fences itself
        (_at("admin"), "tcp", 22),             # no SSH onwards
        (_at("stranger"), "tcp", 8080),
        (_at("stranger"), "tcp", 443),         # apt, BlueMind's HTTPS clients
    ]}
    assert seen == {
        (_at("peer"), "tcp", 22): "open", (_at("peer"), "udp", 5405): "open",
        (_at("peer-bmc"), "udp", 623): "open", (_at("own-bmc"), "udp", 623): "blocked",
        # A SYN the output chain drops is retried until connect() times out: never sent.
        (_at("admin"), "tcp", 22): "dropped",
        (_at("stranger"), "tcp", 8080): "dropped", (_at("stranger"), "tcp", 443): "open",
    }


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


# A server on port PORT that sends a byte every 0.1 s on each connection: a step printing its progress, an IMAP
# server telling an idle client of new mail.
TALKER = textwrap.dedent("""
    import socket, sys, threading, time
    def talk(connection):
        while True:
            connection.sendall(b"x"); time.sleep(0.1)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", int(sys.argv[1])))
    s.listen()
    print("ready", flush=True)
    while True:
        threading.Thread(target=talk, args=(s.accept()[0],), daemon=True).start()
""")
# Connects from SOURCE to DEST:PORT, then, once told on stdin, waits silently (no byte of its own) for the
# server's next byte.
LISTENING_CLIENT = textwrap.dedent("""
    import socket, sys
    s = socket.socket(); s.bind((sys.argv[1], 0)); s.connect((sys.argv[2], int(sys.argv[3]))); s.recv(100)
    print("connected", flush=True)
    sys.stdin.readline()
    s.setblocking(False)
    try:
        while s.recv(4096):
            pass
    except BlockingIOError:
        pass
    s.settimeout(3.0)
    try:
        s.recv(100); print("flowing")
    except (socket.timeout, TimeoutError):
        print("stalled")
""")


@pytest.mark.parametrize("who,dest,port", [("admin", "10.20.0.11", 22), ("stranger", "10.20.0.50", 993)],
                         ids=["pulumis-ssh", "imap-idle-on-the-vip"])
def test_a_session_open_before_the_first_load_keeps_flowing(wired, who, dest, port):
    """pulumi's session, and BlueMind's clients on a live cluster, exist before the first load: conntrack then
    picks them up mid-stream, and the first packet it sees may be the node's own (the step printing, new mail
    for an idle IMAP client): the output chain lets SSH replies to the admins and the peer, and BlueMind's
    replies from the VIP, out, so a session does not stall until its client happens to send something."""
    node, outside, listen, _ = wired
    subprocess.run(["ip", "netns", "exec", node, "nft", "delete", "table", "inet", "bluemind_ha"], check=True)
    talker = subprocess.Popen(["ip", "netns", "exec", node, sys.executable, "-c", TALKER, str(port)],
                              stdout=subprocess.PIPE, text=True)
    client = None
    try:
        assert talker.stdout.readline().strip() == "ready"
        client = subprocess.Popen(["ip", "netns", "exec", outside, sys.executable, "-c", LISTENING_CLIENT,
                                   _at(who), dest, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        assert client.stdout.readline().strip() == "connected"
        s = load_settings("prod")
        subprocess.run(["ip", "netns", "exec", node, "nft", "-f", "-"], input=render_ruleset(s, s.nodes[0]),
                       check=True, capture_output=True, text=True, timeout=30)
        client.stdin.write("loaded\n")
        client.stdin.flush()
        assert client.stdout.readline().strip() == "flowing"
    finally:
        for process in (client, talker):
            if process is not None:
                process.kill()
                process.wait()


def test_reloading_the_ruleset_keeps_every_tracked_session(wired):
    """A re-run of the step on a live cluster (a changed VIP, new admin networks) replaces the table in one
    transaction; conntrack's state survives it, so a session the rules only admit as established (the node's own
    lsyncd SSH to its peer: the peer's bytes are replies) keeps flowing."""
    node, outside, listen, _ = wired
    talker = subprocess.Popen(["ip", "netns", "exec", outside, sys.executable, "-c", TALKER, "22"],
                              stdout=subprocess.PIPE, text=True)
    client = None
    try:
        assert talker.stdout.readline().strip() == "ready"
        client = subprocess.Popen(["ip", "netns", "exec", node, sys.executable, "-c", LISTENING_CLIENT,
                                   "10.20.0.11", _at("peer"), "22"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        assert client.stdout.readline().strip() == "connected"
        s = settings_with("prod", {"admin_networks": ["10.20.0.0/24", "198.51.100.0/24"]})
        subprocess.run(["ip", "netns", "exec", node, "nft", "-f", "-"], input=render_ruleset(s, s.nodes[0]),
                       check=True, capture_output=True, text=True, timeout=30)
        client.stdin.write("reloaded\n")
        client.stdin.flush()
        assert client.stdout.readline().strip() == "flowing"
    finally:
        for process in (client, talker):
            if process is not None:
                process.kill()
                process.wait()
