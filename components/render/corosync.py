"""corosync.conf for the two nodes: knet with crypto, one or two links, two-node quorum when fenced, or a third
vote from an arbitrator (cluster.qdevice)."""
from __future__ import annotations

from components.names import AUTHKEY_PATH, QNETD_PORT, RENDERED_MARK
from components.settings import Settings


def quorum_device(s: Settings) -> list[str]:
    """The quorum device block: corosync-qdevice on each node asks corosync-qnetd on the arbitrator for a third
    vote. ffsplit gives it to exactly one side of a split; a tie (both sides reach the arbitrator) goes to the
    primary, the node the fence devices also favour (pcmk_delay_base). TLS is required, not merely on: the
    vote decides who fences whom, and `on` would talk in clear to a man in the middle that claims no TLS."""
    q = s.qdevice
    # timeout: 2 x token (10 s, the default, for the default token). corosync-qnetd drops a node whose
    # corosync-qdevice went silent (power loss, cut cable) 1.2 x timeout after its last heartbeat, and ffsplit
    # votes only then: 2.4 x token, just after corosync's own detection (token + consensus = 2.2 x token). With
    # the default 10 s, a 3 s token would wait 12 s for a vote it could have at 7 s.
    return ["    device {", "        model: net", "        votes: 1", f"        timeout: {2 * s.cluster.token_ms}",
            "        net {", f"            host: {q.ip}",
            f"            port: {QNETD_PORT}", f"            algorithm: {q.algorithm}", "            tls: required",
            f"            tie_breaker: {s.primary.node_id}", "        }", "    }"]


def render_corosync(s: Settings) -> str:
    two_links = s.second_link
    lines = [
        f"# corosync.conf of the bluemind-ha stack '{s.stack}', {RENDERED_MARK}.",
        "# Do not edit on the node: `pulumi up` owns this file and pushes it to both nodes.",
        "totem {",
        "    version: 2",
        f"    cluster_name: {s.cluster.name}",
        "    transport: knet",
        "    crypto_cipher: aes256",
        "    crypto_hash: sha256",
        f"    keyfile: {AUTHKEY_PATH}",
        # 5 s rides out a short network hiccup or a VM pause without a fence; consensus is derived (1.2 x token).
        f"    token: {s.cluster.token_ms}",
    ]
    if two_links:
        lines += ["    link_mode: passive"]
        # passive: knet sends over the one link with the highest priority that is up. The dedicated link 1
        # (back-to-back, nothing else on it) comes first; the shared client network (link 0) is the fallback,
        # so a busy or flapping client LAN does not cost a token loss, and a fence, while link 1 is healthy.
        for link, priority in ((0, 1), (1, 2)):
            lines += ["    interface {", f"        linknumber: {link}", f"        knet_link_priority: {priority}", "    }"]
    lines += ["}", "", "nodelist {"]
    for node in s.nodes:
        lines += ["    node {", f"        ring0_addr: {node.ip}"]
        if two_links:
            lines += [f"        ring1_addr: {node.link1_ip}"]
        lines += [f"        name: {node.name}", f"        nodeid: {node.node_id}", "    }"]
    lines += ["}", "", "quorum {", "    provider: corosync_votequorum"]
    if s.policy.two_node:
        # two_node keeps a lone survivor quorate (fencing decides who survives) and implies wait_for_all:
        # after a cold start nothing runs until both nodes have been seen once, which prevents fence loops.
        lines += ["    two_node: 1"]
    if s.policy.quorum_device:
        # No wait_for_all: votequorum re-arms it whenever the cluster turns inquorate, so a node left alone
        # while the arbitrator was down (1 of 3 votes) would stay inquorate once the arbitrator is back (2 of 3)
        # until its peer returns: the lab's arbitrator-down scenario (lab/qnetd.py) hangs with it. A node that
        # boots alone with the arbitrator's vote fences its peer before it starts anything, like any quorate
        # partition, and the vote goes to one side only: no fence race at boot.
        lines += quorum_device(s)
    # Without fencing a lone node must be inquorate, so it never takes over on its own (failover: manual).
    lines += ["}", "", "logging {", "    to_logfile: yes", "    logfile: /var/log/corosync/corosync.log",
              "    to_syslog: yes", "    timestamp: on", "}", ""]
    return "\n".join(lines)
