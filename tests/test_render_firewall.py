"""The host firewall (components/render/firewall.py): for each stack and node, exactly the ports issue 18 item 4
opens, nothing else; the settings behind it; the step that loads it. The real nft checks are in
tests/realtools/test_firewall.py."""
from __future__ import annotations

import copy
import ipaddress
import re

import pytest

from components.remote_step import STEP_ORDER
from components.render.firewall import firewall_script, render_ruleset
from components.settings import SettingsError
from tests.stacks import settings_of, settings_with
from tools.stackfile import load_settings, read_stack_config

RULE = re.compile(r"^(?:ip saddr (?P<src>\S+) )?(?:ip daddr (?P<dst>\S+) )?"
                  r"(?:(?P<proto>tcp|udp) (?P<way>dport|sport)|meta l4proto \{ tcp, udp \} th dport) "
                  r"(?P<ports>\{ [^}]* \}|\d+) "
                  r'accept comment "[^"]*"$')
# The accept rules that are not port openings, in each chain: loopback, replies, ICMP.
INPUT_HEAD = ['iif "lo" accept', "ct state established,related accept",
              "icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } accept",
              "icmpv6 type { echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, "
              "nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept"]
OUTPUT_HEAD = ['oif "lo" accept', "ct state established,related accept", "meta l4proto { icmp, ipv6-icmp } accept"]

MAIL_WEB = (25, 80, 110, 143, 443, 465, 587, 993, 995)   # BlueMind's "Les ports", required and optional
XMPP = (5222, 5223, 5269)                                 # 4.x only
OUT_ANYWHERE = {("tcp", 53, None), ("udp", 53, None), ("udp", 67, None), ("udp", 123, None),
                *(("tcp", p, None) for p in (25, 80, 443, 465, 587))}


def chains(ruleset: str) -> dict[str, list[str]]:
    """chain name -> its rule lines (the type/policy line left out)."""
    out, current = {}, None
    for line in ruleset.splitlines():
        line = line.strip()
        if line.startswith("chain "):
            current = line.split()[1]
            out[current] = []
        elif line == "}":
            current = None
        elif current and not line.startswith("type filter"):
            out[current].append(line)
    return out


def policy(ruleset: str, chain: str) -> str:
    return re.search(rf"chain {chain} \{{\n\s+type filter hook {chain} priority filter; policy (\w+);", ruleset).group(1)


def openings(rules: list[str], head: list[str]) -> set[tuple]:
    """Every (proto, port, source, destination) an accept rule opens; fails on an accept rule of another form."""
    found = set()
    for line in rules:
        if not line.endswith("accept") and " accept " not in line:
            continue
        if line in head:
            continue
        m = RULE.match(line)
        assert m, f"an accept rule the test does not know: {line}"
        ports = [int(p) for p in re.findall(r"\d+", m["ports"])]
        protos = [m["proto"]] if m["proto"] else ["tcp", "udp"]
        # A reply rule (sport) opens the replies of a local server: ("tcp", "from 22", ...).
        found |= {(proto, f"from {port}" if m["way"] == "sport" else port, m["src"], m["dst"])
                  for proto in protos for port in ports}
    assert [line for line in rules if line in head] == head
    return found


def inbound(ruleset: str) -> set[tuple]:
    return openings(chains(ruleset)["input"], INPUT_HEAD)


def outbound(ruleset: str) -> set[tuple]:
    return openings(chains(ruleset)["output"], OUTPUT_HEAD)


def anywhere(ports) -> set[tuple]:
    return {(proto, port, None, None) for proto, port, _ in ports}


def expected_in(self_ip, peer_ip, vip, ports, links=()) -> set[tuple]:
    rules = {("udp", 5405, peer_ip, self_ip), ("tcp", 22, "@admin_networks", None), ("tcp", 22, peer_ip, None)}
    rules |= {("udp", 5405 + n, theirs, ours) for n, ours, theirs in links}
    return rules | {("tcp", p, None, vip) for p in ports}


def expected_out(peer_ip, portal, bmc, links=(), vip=None, storage_ip=None) -> set[tuple]:
    rules = {("tcp", f"from {p}", vip, None) for p in MAIL_WEB}  # BlueMind's sessions picked up mid-stream
    # iSCSI, from the storage address alone when there is a storage network
    rules |= {("udp", 5405, None, peer_ip), ("tcp", 22, None, peer_ip), ("tcp", portal[1], storage_ip, portal[0]),
             # SSH sessions conntrack picks up mid-stream (pulumi's, when the table is first loaded)
             ("tcp", "from 22", None, "@admin_networks"), ("tcp", "from 22", None, peer_ip)}
    rules |= {("udp", 5405 + n, None, theirs) for n, _, theirs in links}
    if bmc:
        rules.add(("udp", bmc[1], None, bmc[0]))
    return rules | anywhere(OUT_ANYWHERE)


# stack -> node -> (inbound, outbound), written out from the stack files.
EXPECTED = {
    "prod": {
        "bm-prod-a": (expected_in("10.20.0.11", "10.20.0.12", "10.20.0.50", MAIL_WEB, [(1, "10.21.0.1", "10.21.0.2")]),
                      expected_out("10.20.0.12", ("10.22.0.40", 3260), ("10.30.0.12", 623), [(1, None, "10.21.0.2")],
                                   vip="10.20.0.50", storage_ip="10.22.0.11")),
        "bm-prod-b": (expected_in("10.20.0.12", "10.20.0.11", "10.20.0.50", MAIL_WEB, [(1, "10.21.0.2", "10.21.0.1")]),
                      expected_out("10.20.0.11", ("10.22.0.40", 3260), ("10.30.0.11", 623), [(1, None, "10.21.0.1")],
                                   vip="10.20.0.50", storage_ip="10.22.0.12")),
    },
    "dev": {
        "bm1": (expected_in("192.168.150.11", "192.168.150.12", "192.168.150.100", MAIL_WEB + XMPP),
                expected_out("192.168.150.12", ("192.168.150.20", 3260), ("192.168.150.1", 6231), vip="192.168.150.100")),
        "bm2": (expected_in("192.168.150.12", "192.168.150.11", "192.168.150.100", MAIL_WEB + XMPP),
                expected_out("192.168.150.11", ("192.168.150.20", 3260), ("192.168.150.1", 6230), vip="192.168.150.100")),
    },
    "lab": {
        "lab1": (expected_in("10.99.0.11", "10.99.0.12", "10.99.0.100", MAIL_WEB + XMPP),
                 expected_out("10.99.0.12", ("10.99.0.250", 3260), ("10.99.0.202", 623), vip="10.99.0.100")),
        "lab2": (expected_in("10.99.0.12", "10.99.0.11", "10.99.0.100", MAIL_WEB + XMPP),
                 expected_out("10.99.0.11", ("10.99.0.250", 3260), ("10.99.0.201", 623), vip="10.99.0.100")),
    },
}
ADMIN_NETWORKS = {"prod": "10.20.0.0/24", "dev": "192.168.150.0/24", "lab": "10.99.0.0/24"}
CASES = [(stack, node) for stack in EXPECTED for node in EXPECTED[stack]]


@pytest.mark.parametrize("stack,node", CASES)
@pytest.mark.parametrize("chain", ["input", "output"])
def test_exactly_these_ports_are_open_inbound_and_these_destinations_outbound(stack, node, chain):
    s = load_settings(stack)
    ruleset = render_ruleset(s, s.node(node))
    assert policy(ruleset, chain) == "drop"
    opened = inbound(ruleset) if chain == "input" else outbound(ruleset)
    assert opened == EXPECTED[stack][node][0 if chain == "input" else 1]


@pytest.mark.parametrize("stack", sorted(EXPECTED))
def test_ssh_is_open_to_the_nodes_subnet_by_default(stack):
    s = load_settings(stack)
    for node in s.nodes:
        assert (f"set admin_networks {{ type ipv4_addr; flags interval; auto-merge; "
                f"elements = {{ {ADMIN_NETWORKS[stack]} }}; }}") in render_ruleset(s, node)


def test_the_table_is_ours_alone_and_replaced_in_one_transaction():
    s = load_settings("prod")
    ruleset = render_ruleset(s, s.nodes[0])
    assert ruleset.startswith("#!/usr/sbin/nft -f\n")
    # declare (so that delete never fails), delete, define: one `nft -f` transaction, no other table touched.
    assert "\ntable inet bluemind_ha\ndelete table inet bluemind_ha\ntable inet bluemind_ha {\n" in ruleset
    assert re.findall(r"^(?:table|delete table|flush) .*$", ruleset, re.M) == [
        "table inet bluemind_ha", "delete table inet bluemind_ha", "table inet bluemind_ha {"]
    assert "flush ruleset" not in ruleset
    assert set(chains(ruleset)) == {"input", "output"}


def test_the_ruleset_is_deterministic_and_per_node():
    a, b = load_settings("prod"), load_settings("prod")
    assert render_ruleset(a, a.nodes[0]) == render_ruleset(b, b.nodes[0])
    assert render_ruleset(a, a.nodes[0]) != render_ruleset(a, a.nodes[1])


def test_admin_networks_are_the_ones_listed():
    s = settings_with("prod", {"admin_networks": ["192.0.2.0/24", "10.0.0.0/8", "10.20.0.0/24"]})
    assert s.firewall.admin_networks == tuple(map(ipaddress.IPv4Network, ["192.0.2.0/24", "10.0.0.0/8", "10.20.0.0/24"]))
    assert "elements = { 192.0.2.0/24, 10.0.0.0/8, 10.20.0.0/24 }" in render_ruleset(s, s.nodes[0])


@pytest.mark.parametrize("value,problem", [([], "empty list"), (["10.0.0.0/8", "10.0.0.0/8"], "twice"),
                                           (["10.0.0.1/8"], "host bits"), ("10.0.0.0/8", "expected a list")])
def test_bad_admin_networks_are_refused(value, problem):
    with pytest.raises(SettingsError) as error:
        settings_with("prod", {"admin_networks": value})
    assert "firewall.admin_networks" in str(error.value) and problem in str(error.value)


@pytest.mark.parametrize("value", ["yes", 1, "false"])
def test_enabled_must_be_a_yaml_boolean(value):
    with pytest.raises(SettingsError) as error:
        settings_with("prod", {"enabled": value})
    assert "firewall.enabled" in str(error.value)


def test_manual_failover_opens_no_ipmi():
    s = settings_of("prod-manual")
    out = outbound(render_ruleset(s, s.nodes[0]))
    assert not {r for r in out if r[1] == 623}
    assert out == EXPECTED["prod"]["bm-prod-a"][1] - {("udp", 623, None, "10.30.0.12")}


def test_one_link_opens_only_link_zero():
    s = load_settings("dev")
    assert not {r for r in inbound(render_ruleset(s, s.nodes[0])) if r[1] == 5406}


def test_output_open_has_no_output_chain():
    s = settings_with("prod", {"output": "open"})
    ruleset = render_ruleset(s, s.nodes[0])
    assert set(chains(ruleset)) == {"input"}
    assert inbound(ruleset) == EXPECTED["prod"]["bm-prod-a"][0]


def test_the_step_checks_loads_keeps_pulumis_ssh_and_persists():
    """The order that keeps an admin from being locked out (the step itself runs for real in
    tests/realtools/test_firewall.py): check, load, verify pulumi's SSH client, and only then persist."""
    s = load_settings("prod")
    script = firewall_script(s, s.nodes[0])
    check, load = script.index('nft -c -f "$new"'), script.index('nft -f "$new"')
    verify = script.index('nft get element inet "$table" admin_networks')
    persist = script.index('install_stdin "$rules_path" 0600')
    assert check < load < verify < persist
    # What it is told: the peer (whose SSH is lsyncd's, never refused), the paths, the boot unit.
    for assignment in ("peer_ip=10.20.0.12\n", "rules_path=/etc/bluemind-ha/nftables.conf\n",
                       "unit=bluemind-ha-firewall.service\n", "table=bluemind_ha\n"):
        assert assignment in script, assignment
    assert "ExecStart=/usr/sbin/nft -f /etc/bluemind-ha/nftables.conf" in script
    assert "After=nftables.service" in script and "Before=network-pre.target" in script


def test_disabled_removes_the_table_and_its_unit():
    s = settings_with("prod", {"enabled": False})
    script = firewall_script(s, s.nodes[0])
    assert 'nft delete table inet "$table"' in script and 'rm -f "$rules_path"' in script
    assert 'systemctl disable --quiet "$unit"' in script
    assert "nft -f" not in script and "flush ruleset" not in script


def test_the_firewall_step_runs_before_the_cluster_starts():
    assert STEP_ORDER["cluster-packages"] < STEP_ORDER["firewall"] < STEP_ORDER["cluster-start"]


def test_each_node_gets_its_ruleset_on_stdin_before_the_cluster_starts():
    from tools.plan import run_program

    config, secrets = read_stack_config("prod")
    declared = {d.name: d for d in run_program("prod", config, secrets).declared}
    s = load_settings("prod")
    for node in s.nodes:
        step = declared[f"{node.name}-firewall"]
        assert step.inputs["stdin"] == render_ruleset(s, node)
        assert f"{node.name}-cluster-packages" in step.dependencies
        for starting in s.nodes:  # corosync's first packet must pass the firewall of both nodes
            assert step.name in declared[f"{starting.name}-cluster-start"].dependencies


def test_disabled_the_step_removes_and_gets_no_stdin():
    from tools.plan import run_program

    config, secrets = read_stack_config("prod")
    config = {**copy.deepcopy(config), "firewall": {"enabled": False}}
    declared = {d.name: d for d in run_program("prod", config, secrets).declared}
    step = declared["bm-prod-a-firewall"]
    assert "stdin" not in step.inputs and 'nft delete table inet "$table"' in step.inputs["create"]


def test_the_lab_runs_the_rendered_ruleset_plus_its_clients_postgresql_only():
    from lab.transform import lab_ruleset

    s = load_settings("lab")
    for node in s.nodes:
        rendered, lab = render_ruleset(s, node), lab_ruleset(s, node)
        assert lab.startswith(rendered)
        assert lab[len(rendered):] == ("insert rule inet bluemind_ha input ip saddr 10.99.0.1 ip daddr 10.99.0.100 "
                                       'tcp dport 5432 accept comment "the lab client: PostgreSQL on the VIP"\n')
