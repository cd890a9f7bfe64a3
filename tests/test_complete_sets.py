"""Complete sets, not subsets: what the rendered outputs hold is compared with the whole expected set, so a
dropped entry fails as surely as a wrong one. Each expected set is written once, here, from BlueMind's HA page
(../shared/seed/bluemind-high-availability.md, "the seed"), the research notes
(../shared/reference/bluemind.md, "the notes") and the README's documented defaults; never from the code.
The stack files are read raw (their YAML), for the values an admin set."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from components.render.cib import render_cib
from components.render.cib_nvsets import INSTANCE, META, PROPERTIES, nvpairs
from components.render.corosync import render_corosync
from components.render.node_scripts import bluemind_packages, filesystems
from components.render.tgt import render_targets_conf
from components.render.update import package_update_script
from tests.stacks import ALL, CIB_CONFIGS, config_of, settings_of

# --- the shared directories --------------------------------------------------------------------------------
# The seed, "Data to be made available between both servers" (4.x): seven spools, then "/var/lib/cyrus" and
# "/var/lib/postgresql".
SEED_DIRECTORIES = ("/var/spool/bm-docs", "/var/spool/bm-elasticsearch", "/var/spool/bm-hsm", "/var/spool/cyrus",
                    "/var/spool/postfix", "/var/spool/sieve", "/var/spool/bluemind-pkgs", "/var/lib/cyrus",
                    "/var/lib/postgresql")
# The notes, section 5, BlueMind 5.2's HA page adds bm-hollowed and bm-mapi (kept with the seed's: the README
# says they are appended, so LUN numbers never shift).
V5_ADDED = ("/var/spool/bm-hollowed", "/var/spool/bm-mapi")
DIRECTORIES = {4: SEED_DIRECTORIES, 5: SEED_DIRECTORIES + V5_ADDED}

# --- the services in the group -------------------------------------------------------------------------------
# 4.x: the notes' systemd preset (section 2), plus postgresql and postfix (outside bluemind.target, but the
# data they serve is on the LUNs), minus what is not the mail service's or runs on every host: bm-iptables
# (the host firewall), bm-cyrus-syncclient (cyrus replication: the LUN is shared, not replicated),
# bm-forest-node, bm-xivobridge and bm-sds-proxy (optional add-ons), bm-mapi (5.x only in this program), and
# the monitoring stack (influxdb, telegraf, kapacitor, chronograf). lsyncd is ours: the configuration sync
# runs where the group runs.
SERVICES = {
    4: {"bm-pimp", "postgresql", "bm-elasticsearch", "bm-cyrus-imapd", "postfix", "bm-node", "bm-tika",
        "bm-webserver", "bm-core", "bm-eas", "bm-ysnp", "bm-hps", "bm-xmpp", "bm-milter", "bm-lmtpd", "bm-php-fpm",
        "bm-nginx", "lsyncd"},
    # 5.x: the notes' 5.2 "les services" list (minus iptables and telegraf, as above) plus bm-keycloak, which
    # the 5.x postinst adds; Cyrus, bm-hps and bm-xmpp are gone.
    5: {"bm-pimp", "postgresql", "bm-elasticsearch", "bm-keydb", "postfix", "bm-node", "bm-tika", "bm-webserver",
        "bm-core", "bm-keycloak", "bm-eas", "bm-ysnp", "bm-milter", "bm-lmtpd", "bm-mapi", "bm-nginx", "lsyncd"},
}
# The notes' unit ordering: (before, after) pairs the group's order must respect.
ORDER = [("bm-pimp", "postgresql"), ("bm-pimp", "bm-node"), ("bm-pimp", "bm-core"), ("bm-node", "bm-webserver"),
         ("bm-node", "bm-core"), ("postgresql", "bm-core"), ("bm-core", "bm-eas"), ("bm-core", "bm-ysnp"),
         ("bm-ysnp", "bm-milter"), ("bm-ysnp", "bm-lmtpd")]

# --- the CIB's properties, by failover mode (README: "The safety rules", "Cluster layout", the cluster keys) ---
DEFAULTS = {"stickiness": 100, "migration_threshold": 3, "failure_timeout_s": 600, "priority_fencing_delay_s": 15,
            "stonith_timeout_s": 90}
# README, "Monitoring": the mail alert reports node, fencing and resource events.
ALERT_EVENTS = {"select_nodes", "select_fencing", "select_resources"}


def raw(name):
    """The stack's config as its file (and the variant's change) has it."""
    return config_of(name)[0]


def cluster_value(name, key):
    return raw(name).get("cluster", {}).get(key, DEFAULTS.get(key))


def manual(name):
    return raw(name).get("failover", "automatic") == "manual"


def arbitrator(name):
    """The stack's cluster.qdevice map, or None (README, "qdevice arbitration")."""
    return raw(name).get("cluster", {}).get("qdevice")


def major(name):
    return int(str(raw(name)["bluemind"]["version"]).split(".")[0])


def expected_directories(name):
    return DIRECTORIES[major(name)] + tuple(raw(name)["storage"].get("extra_directories", ()))


def expected_properties(name):
    if manual(name):
        # README: stonith-enabled=false, no-quorum-policy=freeze, start-failure-is-fatal=false.
        return {"stonith-enabled": "false", "no-quorum-policy": "freeze", "symmetric-cluster": "true",
                "start-failure-is-fatal": "false"}
    return {"stonith-enabled": "true", "stonith-action": "reboot",
            "stonith-timeout": f"{cluster_value(name, 'stonith_timeout_s')}s",
            # With an arbitrator only the quorate side fences: no priority delay, and an inquorate node freezes.
            "priority-fencing-delay": "0s" if arbitrator(name) else f"{cluster_value(name, 'priority_fencing_delay_s')}s",
            "no-quorum-policy": "freeze" if arbitrator(name) else "stop", "symmetric-cluster": "true",
            "start-failure-is-fatal": "true"}


def expected_rsc_defaults(name):
    return {"resource-stickiness": str(cluster_value(name, "stickiness")),
            "migration-threshold": "0" if manual(name) else str(cluster_value(name, "migration_threshold")),
            "failure-timeout": f"{cluster_value(name, 'failure_timeout_s')}s"}


def _cib(name):
    return ET.fromstring(render_cib(settings_of(name)))


def _unit(primitive):
    if primitive.get("class") == "systemd":
        return primitive.get("type")
    return nvpairs(primitive, INSTANCE)["unit"]


@pytest.mark.parametrize("name", CIB_CONFIGS)
def test_the_group_holds_exactly_the_directories_then_the_vip_then_the_services(name):
    group = _cib(name).find(".//group[@id='bluemind']")
    members = group.findall("primitive")
    fs = [m for m in members if m.get("type") == "Filesystem"]
    assert [nvpairs(m, INSTANCE)["directory"] for m in fs] == list(expected_directories(name))
    assert members[len(fs)].get("type") == "IPaddr2" and members[:len(fs)] == fs
    units = [_unit(m) for m in members[len(fs) + 1:]]
    assert set(units) == SERVICES[major(name)] and len(units) == len(set(units))
    assert units[0] == "bm-pimp" and units[-1] == "lsyncd"
    for before, after in ORDER:
        if before in units and after in units:
            assert units.index(before) < units.index(after), (before, after)


@pytest.mark.parametrize("name", CIB_CONFIGS)
def test_the_cib_properties_exactly(name):
    cib = _cib(name)
    assert nvpairs(cib.find(".//crm_config"), PROPERTIES) == expected_properties(name)
    assert nvpairs(cib.find(".//rsc_defaults"), META) == expected_rsc_defaults(name)


@pytest.mark.parametrize("name", CIB_CONFIGS)
def test_the_alert_events_and_recipients_exactly(name):
    recipients = raw(name).get("cluster", {}).get("alert_recipient")
    alerts = _cib(name).findall(".//alerts/alert")
    if not recipients:
        assert alerts == []
        return
    recipients = [recipients] if isinstance(recipients, str) else recipients
    alert, = alerts
    assert {e.tag for e in alert.find("select")} == ALERT_EVENTS
    assert [r.get("value") for r in alert.findall("recipient")] == recipients


@pytest.mark.parametrize("name", ALL)
def test_the_corosync_links_exactly(name):
    config = raw(name)
    conf = render_corosync(settings_of(name))
    second = "link1_subnet" in config["network"]
    # One link: no interface block (knet's link 0); two: links 0 and 1, each once.
    assert re.findall(r"linknumber: (\d+)", conf) == (["0", "1"] if second else [])
    priorities = re.findall(r"knet_link_priority: (\d+)", conf)
    assert len(set(priorities)) == len(priorities)
    for node in config["nodes"]:
        block = re.search(r"node \{[^}]*name: " + re.escape(node["name"]) + r"\n[^}]*\}", conf).group(0)
        assert re.findall(r"ring(\d)_addr: (\S+)", block) == (
            [("0", node["ip"]), ("1", node["link1_ip"])] if second else [("0", node["ip"])])
    assert re.findall(r"nodeid: (\d+)", conf) == ["1", "2"]
    assert ("two_node: 1" in conf) is (not manual(name) and not arbitrator(name))


@pytest.mark.parametrize("name", ALL)
def test_every_cluster_unit_is_kept_from_starting_at_boot(name):
    s = settings_of(name)
    wanted = sorted(u + ".service" for u in SERVICES[major(name)])
    for script in (bluemind_packages(s, s.nodes[0]), package_update_script(s, s.nodes[0])):
        units = re.search(r"^cluster_units=\((.*)\)$", script, re.M).group(1).split()
        assert sorted(units) == wanted


@pytest.mark.parametrize("name", ALL)
def test_every_directory_has_a_lun_a_mkfs_and_a_mount_point(name):
    s = settings_of(name)
    directories = list(expected_directories(name))
    assert [lun.directory for lun in s.storage.luns] == directories
    script = filesystems(s, s.nodes[0])
    assert re.search(r"^directories=\((.*)\)$", script, re.M).group(1).split() == directories
    assert len(re.search(r"^devices=\((.*)\)$", script, re.M).group(1).split()) == len(directories)
    if s.storage.kind == "tgt":
        conf = render_targets_conf(s, "secret-0123", "mutual-4567")
        assert re.findall(r"# (\S+): \d+ GB", conf) == directories
        assert re.findall(r"^\s+lun (\d+)$", conf, re.M) == [str(i) for i in range(1, len(directories) + 1)]


# --- corosync.conf, whole (README "Cluster layout": knet, aes256/sha256, the token, a passive second link,
# two_node for a fenced stack; corosync's own logging to its file and syslog) --------------------------------

def _parse_corosync(text):
    """corosync.conf as nested (section, [items]) where an item is (key, value) or a section; any line that is
    not a comment, blank, `name {`, `}` or `key: value` fails."""
    stack = [("", [])]
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or line.startswith("#"):
            continue
        if m := re.fullmatch(r"([a-z_]+) \{", stripped):
            section = (m.group(1), [])
            stack[-1][1].append(section)
            stack.append(section)
        elif stripped == "}":
            stack.pop()
        elif m := re.fullmatch(r"([a-z0-9_]+): (\S+)", stripped):
            stack[-1][1].append((m.group(1), m.group(2)))
        else:
            raise AssertionError(f"not corosync.conf syntax: {line!r}")
    assert len(stack) == 1, "unbalanced braces"
    return stack[0][1]


@pytest.mark.parametrize("name", ALL)
def test_corosync_conf_whole(name):
    config = raw(name)
    second = "link1_subnet" in config["network"]
    cluster = config.get("cluster", {})
    # The dedicated back-to-back link 1 is preferred (the higher priority, issue 14: link priorities); the
    # shared client network, link 0, is the fallback.
    interfaces = [("interface", [("linknumber", "0"), ("knet_link_priority", "1")]),
                  ("interface", [("linknumber", "1"), ("knet_link_priority", "2")])] if second else []
    totem = [("version", "2"), ("cluster_name", cluster.get("name", "bluemind")), ("transport", "knet"),
             ("crypto_cipher", "aes256"), ("crypto_hash", "sha256"), ("keyfile", "/etc/corosync/authkey"),
             ("token", str(cluster.get("token_ms", 5000))), *([("link_mode", "passive")] if second else []),
             *interfaces]
    nodes = [("node", [("ring0_addr", n["ip"]), *([("ring1_addr", n["link1_ip"])] if second else []),
                       ("name", n["name"]), ("nodeid", str(i))]) for i, n in enumerate(config["nodes"], 1)]
    quorum = [("provider", "corosync_votequorum"), *([] if manual(name) or arbitrator(name) else [("two_node", "1")])]
    if arbitrator(name):
        # One vote from corosync-qnetd over TLS (required), ffsplit, a tie to the primary (nodeid 1); no
        # wait_for_all (re-armed whenever quorum is lost, it would keep a lone survivor inquorate once the
        # arbitrator is back).
        quorum.append(("device", [("model", "net"), ("votes", "1"),
                                  ("timeout", str(2 * cluster.get("token_ms", 5000))), ("net", [
            ("host", arbitrator(name)["ip"]), ("port", "5403"), ("algorithm", "ffsplit"), ("tls", "required"),
            ("tie_breaker", "1")])]))
    logging = [("to_logfile", "yes"), ("logfile", "/var/log/corosync/corosync.log"), ("to_syslog", "yes"),
               ("timestamp", "on")]
    parsed = _parse_corosync(render_corosync(settings_of(name)))
    assert parsed == [("totem", totem), ("nodelist", nodes), ("quorum", quorum), ("logging", logging)]
