"""The nodes' host firewall: one nftables table, `inet bluemind_ha`, per node. Pure: Settings in, text out.

Inbound is filtered strictly (policy drop). Open: loopback, replies (established/related), ICMP essentials,
corosync from the peer on the link addresses, SSH from `firewall.admin_networks` and from the peer (lsyncd
pushes over SSH), and BlueMind's public ports on the VIP only. Outbound (`firewall.output: strict`, the
default) allows what a node needs: corosync and SSH to the peer, iSCSI to the portal (from the node's
storage address when there is a storage network), IPMI to the peer's BMC
(the node never fences itself), corosync-qdevice to the arbitrator (cluster.qdevice: TCP 5403; the program
does not manage the arbitrator's own firewall), and, to any address, DNS, NTP, DHCP, HTTP(S) (apt: Debian and BlueMind's
repository) and SMTP (postfix delivers mail, pacemaker's mail alerts). So a node cannot reach another BMC,
another iSCSI target or another host's SSH. `output: open` lets everything out. Replies from our SSH server (to
the admins and the peer) and from BlueMind's privileged ports on the VIP may always leave: sessions open when
the table is first loaded (pulumi's own) are picked up by conntrack mid-stream, so their next packet from this
node is "new", not a reply.

The file replaces only our table, in one transaction (`table` + `delete table` + the table, loaded by
`nft -f`): an admin's own tables stay. A packet must pass every table's base chain at its hook, so this
table can close what another table opens, never open what another closes (BlueMind's bm-iptables rules,
through iptables-nft, still apply). ARP (the VIP's gratuitous ARP) is not in the inet family: untouched.

Sources of the ports: ../shared/reference/bluemind.md section 4 (BlueMind's "Les ports", 4.x): 25 and 443
required; 80, 110, 143, 465, 587, 993, 995 and XMPP 5222/5223/5269 optional, XMPP only before 5.x (5.x
removes bm-xmpp, same reference section 2). corosync 3 with knet listens on UDP 5405 + link number
(totemconfig.c: `ip_port = DEFAULT_PORT + i`; our corosync.conf sets no port).
"""
from __future__ import annotations

from dataclasses import dataclass

from components.names import QNETD_PORT, RENDERED_MARK
from components.render.shell import Text, render
from components.settings import Node, Settings

TABLE = "bluemind_ha"
RULES_PATH = "/etc/bluemind-ha/nftables.conf"
UNIT = "bluemind-ha-firewall.service"
UNIT_PATH = f"/etc/systemd/system/{UNIT}"
COROSYNC_PORT = 5405   # knet link N listens on COROSYNC_PORT + N
SSH_PORT = 22
# BlueMind's public ports (bluemind.md section 4, "Les ports"): SMTP, HTTP, POP3, IMAP, HTTPS (web, EAS, MAPI,
# DAV), SMTPS, submission, IMAPS, POP3S.
BLUEMIND_PORTS = (25, 80, 110, 143, 443, 465, 587, 993, 995)
XMPP_PORTS = (5222, 5223, 5269)  # 4.x only: BlueMind 5 removes bm-xmpp
# Outbound to any address with `output: strict`: name resolution, time, DHCP renewals, apt and BlueMind's
# HTTP(S) clients, mail delivery and relays.
OUT_ANY_TCP = (25, 80, 443, 465, 587)
OUT_ANY_UDP = (67, 123)
DNS_PORT = 53
ICMP_IN = ("echo-request", "destination-unreachable", "time-exceeded", "parameter-problem")
ICMPV6_IN = ("echo-request", "destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem",
             "nd-router-advert", "nd-neighbor-solicit", "nd-neighbor-advert")


@dataclass(frozen=True)
class Opening:
    """One accept rule: `proto` `port` from `source` to `dest` (None: any address)."""

    proto: str
    ports: tuple[int, ...]
    source: str | None
    dest: str | None
    why: str
    reply: bool = False  # `ports` are the source ports: the replies of a local server

    def rule(self) -> str:
        ports = str(self.ports[0]) if len(self.ports) == 1 else "{ " + ", ".join(map(str, self.ports)) + " }"
        match = []
        if self.source:
            match.append(f"ip saddr {self.source}")
        if self.dest:
            match.append(f"ip daddr {self.dest}")
        if self.proto in ("tcp", "udp"):
            match.append(f"{self.proto} {'sport' if self.reply else 'dport'} {ports}")
        else:  # both: DNS
            match.append(f"meta l4proto {{ tcp, udp }} th dport {ports}")
        return " ".join(match) + f' accept comment "{self.why}"'


def public_ports(s: Settings) -> tuple[int, ...]:
    return tuple(sorted(BLUEMIND_PORTS + (XMPP_PORTS if s.bluemind.major == 4 else ())))


def _links(s: Settings, node: Node) -> list[tuple[int, str, str]]:
    """(link number, this node's address, the peer's) of each corosync link."""
    peer = s.peer_of(node)
    links = [(0, node.ip, peer.ip)]
    if s.second_link:
        links.append((1, node.link1_ip, peer.link1_ip))
    return links


def inbound(s: Settings, node: Node) -> list[Opening]:
    peer = s.peer_of(node)
    rules = [Opening("udp", (COROSYNC_PORT + n,), theirs, ours, f"corosync link {n} from {peer.name}")
             for n, ours, theirs in _links(s, node)]
    rules.append(Opening("tcp", (SSH_PORT,), "@admin_networks", None, "SSH: admins and pulumi"))
    rules.append(Opening("tcp", (SSH_PORT,), peer.ip, None, f"SSH from {peer.name} (lsyncd)"))
    rules.append(Opening("tcp", public_ports(s), None, s.network.vip, "BlueMind on the VIP"))
    return rules


def outbound(s: Settings, node: Node) -> list[Opening]:
    peer = s.peer_of(node)
    rules = [Opening("udp", (COROSYNC_PORT + n,), None, theirs, f"corosync link {n} to {peer.name}")
             for n, _, theirs in _links(s, node)]
    rules.append(Opening("tcp", (SSH_PORT,), None, peer.ip, f"SSH to {peer.name} (lsyncd)"))
    # The SSH sessions open when the table is first loaded (pulumi's own): conntrack picks them up mid-stream,
    # and if the node's next packet comes first it is "new" here, not a reply; without these the session
    # stalls until the client sends something.
    rules.append(Opening("tcp", (SSH_PORT,), None, "@admin_networks", "SSH replies to admins and pulumi",
                         reply=True))
    rules.append(Opening("tcp", (SSH_PORT,), None, peer.ip, f"SSH replies to {peer.name}", reply=True))
    # Likewise BlueMind's sessions on the VIP (an IMAP IDLE client may stay silent for half an hour). Only the
    # privileged ports: no unprivileged process can send from them.
    rules.append(Opening("tcp", tuple(p for p in public_ports(s) if p < 1024), s.network.vip, None,
                         "BlueMind's replies from the VIP", reply=True))
    # With a storage network, only from the node's storage address: a session the kernel would route out of the
    # client network (a missing address, a wrong route) is dropped here instead of crossing the client LAN.
    rules.append(Opening("tcp", (s.storage.portal_port,), node.storage_ip, s.storage.portal_ip,
                         "iSCSI to the portal" + (" from the storage address" if node.storage_ip else "")))
    if peer.bmc is not None:
        rules.append(Opening("udp", (peer.bmc.port,), None, peer.bmc.address, f"IPMI to {peer.name}'s BMC (fencing)"))
    if s.qdevice is not None:
        rules.append(Opening("tcp", (QNETD_PORT,), None, s.qdevice.ip, f"corosync-qdevice to the arbitrator {s.qdevice.name}"))
    rules.append(Opening("both", (DNS_PORT,), None, None, "DNS"))
    rules.append(Opening("udp", OUT_ANY_UDP, None, None, "DHCP, NTP"))
    rules.append(Opening("tcp", OUT_ANY_TCP, None, None, "HTTP(S): apt, BlueMind; SMTP: mail out"))
    return rules


def _chain(name: str, hook: str, policy: str, head: list[str], openings: list[Opening], tail: list[str]) -> list[str]:
    lines = [f"    chain {name} {{", f"        type filter hook {hook} priority filter; policy {policy};"]
    lines += [f"        {line}" for line in head + [o.rule() for o in openings] + tail]
    return lines + ["    }"]


def render_ruleset(s: Settings, node: Node) -> str:
    """/etc/bluemind-ha/nftables.conf of `node`: `nft -f` replaces table inet bluemind_ha atomically."""
    f = s.firewall
    nets = ", ".join(str(n) for n in f.admin_networks)
    def dropped(way):
        return f'limit rate 6/minute burst 10 packets log prefix "bluemind-ha {way} drop: " level info'
    lines = [
        "#!/usr/sbin/nft -f",
        f"# Host firewall of {node.name} (stack '{s.stack}'), {RENDERED_MARK}.",
        f"# Do not edit on the node: `pulumi up` owns this file ({RULES_PATH}, loaded at boot by {UNIT}).",
        f"# Only table inet {TABLE} is replaced, in one transaction; other tables are untouched.",
        f"table inet {TABLE}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
        # auto-merge: overlapping admin networks (10.0.0.0/8 and 10.20.0.0/24) are one interval, not an error.
        f"    set admin_networks {{ type ipv4_addr; flags interval; auto-merge; elements = {{ {nets} }}; }}",
    ]
    icmp = [f"icmp type {{ {', '.join(ICMP_IN)} }} accept",
            f"icmpv6 type {{ {', '.join(ICMPV6_IN)} }} accept"]
    lines += _chain("input", "input", "drop",
                    ['iif "lo" accept', "ct state established,related accept", "ct state invalid drop"] + icmp,
                    inbound(s, node), [dropped("in"), "counter comment \"dropped in\""])
    if f.strict_output:
        lines += _chain("output", "output", "drop",
                        ['oif "lo" accept', "ct state established,related accept",
                         "meta l4proto { icmp, ipv6-icmp } accept"],
                        outbound(s, node), [dropped("out"), "counter comment \"dropped out\""])
    lines += ["}", ""]
    return "\n".join(lines)


UNIT_TEXT = f"""[Unit]
Description=bluemind-ha host firewall (nftables table inet {TABLE})
# Like Debian's nftables.service, before the network comes up; after it, whose `flush ruleset` would drop our
# table, and restarted with it (PartOf).
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target shutdown.target
After=nftables.service
PartOf=nftables.service
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f {RULES_PATH}
ExecReload=/usr/sbin/nft -f {RULES_PATH}
ExecStop=/usr/sbin/nft delete table inet {TABLE}

[Install]
WantedBy=sysinit.target
"""

def firewall_script(s: Settings, node: Node) -> str:
    """stdin: the node's ruleset (render_ruleset). Checked with `nft -c`, loaded, then kept only if the SSH
    client this step runs for (pulumi's machine) may still connect: otherwise the previous rules are put back and
    the step fails, naming `firewall.admin_networks`. Persisted for boots by a unit of its own. With
    `firewall.enabled: false` (no stdin) the table, file and unit are removed (components/scripts/)."""
    paths = {"node": node.name, "table": TABLE, "rules_path": RULES_PATH, "unit": UNIT, "unit_path": UNIT_PATH}
    if not s.firewall.enabled:
        return render("firewall-off.sh", f"{node.name}: host firewall off (firewall.enabled: false)", paths)
    return render("firewall.sh", f"{node.name}: host firewall (nftables table inet {TABLE})", {
        **paths, "unit_text": Text(UNIT_TEXT, "UNIT"), "peer_ip": s.peer_of(node).ip,
        "admin_networks": ", ".join(str(n) for n in s.firewall.admin_networks)})
