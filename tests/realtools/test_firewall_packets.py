"""The host firewall (components/render/firewall.py) with real packets: loaded in a network namespace standing for
bm-prod-a, wired by a veth to one standing for the rest of the network (the peer, an admin, a stranger on the client
LAN, the portal, the BMCs), real connections pass exactly where the issue says and nowhere else, both ways; and
sessions open before a load, or across a reload, keep flowing. (nft -c and the step: test_firewall.py.)
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from components.render.firewall import render_ruleset
from tests.conftest import require_root, require_tool
from tests.stacks import settings_with
from tools.stackfile import load_settings

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


def _load(node: str, s) -> None:
    """The rendered ruleset of `s`'s first node, loaded in one nft transaction in the namespace `node`."""
    subprocess.run(["ip", "netns", "exec", node, "nft", "-f", "-"], input=render_ruleset(s, s.nodes[0]),
                   check=True, capture_output=True, text=True, timeout=30)


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
        _load(node, load_settings("prod"))

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


def _session_across(server_ns: str, client_ns: str, source: str, dest: str, port: int, load) -> str:
    """A TALKER in `server_ns` and a LISTENING_CLIENT from `source` in `client_ns`, connected; then `load()`
    (a ruleset load) while the session is open: what the client sees next, "flowing" or "stalled"."""
    talker = subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", TALKER, str(port)],
                              stdout=subprocess.PIPE, text=True)
    client = None
    try:
        assert talker.stdout.readline().strip() == "ready"
        client = subprocess.Popen(["ip", "netns", "exec", client_ns, sys.executable, "-c", LISTENING_CLIENT,
                                   source, dest, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        assert client.stdout.readline().strip() == "connected"
        load()
        client.stdin.write("loaded\n")
        client.stdin.flush()
        return client.stdout.readline().strip()
    finally:
        for process in (client, talker):
            if process is not None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("who,dest,port", [("admin", "10.20.0.11", 22), ("stranger", "10.20.0.50", 993)],
                         ids=["pulumis-ssh", "imap-idle-on-the-vip"])
def test_a_session_open_before_the_first_load_keeps_flowing(wired, who, dest, port):
    """pulumi's session, and BlueMind's clients on a live cluster, exist before the first load: conntrack then
    picks them up mid-stream, and the first packet it sees may be the node's own (the step printing, new mail
    for an idle IMAP client): the output chain lets SSH replies to the admins and the peer, and BlueMind's
    replies from the VIP, out, so a session does not stall until its client happens to send something."""
    node, outside, _, _ = wired
    subprocess.run(["ip", "netns", "exec", node, "nft", "delete", "table", "inet", "bluemind_ha"], check=True)
    assert _session_across(node, outside, _at(who), dest, port, lambda: _load(node, load_settings("prod"))) == "flowing"


def test_reloading_the_ruleset_keeps_every_tracked_session(wired):
    """A re-run of the step on a live cluster (a changed VIP, new admin networks) replaces the table in one
    transaction; conntrack's state survives it, so a session the rules only admit as established (the node's own
    lsyncd SSH to its peer: the peer's bytes are replies) keeps flowing."""
    node, outside, _, _ = wired
    changed = settings_with("prod", {"admin_networks": ["10.20.0.0/24", "198.51.100.0/24"]})
    assert _session_across(outside, node, "10.20.0.11", _at("peer"), 22, lambda: _load(node, changed)) == "flowing"
