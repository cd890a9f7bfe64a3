"""Pure tests of the cluster renderers: what an admin relies on in corosync.conf, the CIB and its push."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from components.render.cib import group_member_ids, render_cib
from components.render.cib_merge import merge_cib
from components.render.cib_nvsets import INSTANCE, META, PROPERTIES, nvpair_value, nvpairs
from components.render.corosync import render_corosync
from components.render.tgt import render_targets_conf
from tests.stacks import settings_of, with_storage_network
from tools.stackfile import load_settings


def manual_prod():
    return settings_of("prod-manual")


def props(cib: ET.Element) -> dict[str, str]:
    return nvpairs(cib.find("configuration/crm_config"), PROPERTIES)


def params(primitive: ET.Element) -> dict[str, str]:
    return nvpairs(primitive, INSTANCE)


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_fenced_corosync_has_two_node_and_knet_crypto(stack):
    conf = render_corosync(load_settings(stack))
    assert "    two_node: 1\n" in conf
    assert "transport: knet" in conf and "crypto_cipher: aes256" in conf and "crypto_hash: sha256" in conf


def test_manual_corosync_has_no_two_node_so_a_lone_node_is_inquorate():
    assert "two_node" not in render_corosync(manual_prod())


def test_second_link_gives_every_node_two_rings():
    conf = render_corosync(load_settings("prod"))
    assert conf.count("ring0_addr") == 2 and conf.count("ring1_addr") == 2 and "link_mode: passive" in conf
    assert "ring1_addr" not in render_corosync(load_settings("dev"))


def test_the_dedicated_second_link_is_preferred_over_the_client_network():
    """link_mode passive uses the up link with the highest knet_link_priority: link 1 (dedicated) wins."""
    conf = render_corosync(load_settings("prod"))
    priorities = dict(re.findall(r"linknumber: (\d+)\n\s+knet_link_priority: (\d+)", conf))
    assert set(priorities) == {"0", "1"} and int(priorities["1"]) > int(priorities["0"]), conf


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cib_holds_one_ipmi_fence_device_per_node_never_run_by_its_own_target(stack):
    s = load_settings(stack)
    cib = ET.fromstring(render_cib(s))
    devices = cib.findall(".//primitive[@class='stonith']")
    assert [d.get("type") for d in devices] == ["fence_ipmilan", "fence_ipmilan"]
    for node, device in zip(s.nodes, devices, strict=True):
        p = params(device)
        assert p["pcmk_host_list"] == node.name and p["ip"] == node.bmc.address
        assert p["lanplus"] == "1" and p["method"] == "onoff" and "password" not in p
        assert p["privlvl"] == "operator"
        # The group's threshold never reaches a fence device (rsc_defaults): a flaky BMC must not ban it.
        assert nvpair_value(device, META, "migration-threshold") == "0"
        # Only the primary's device waits: the primary wins a split while the group runs nowhere, and the
        # wait is shorter than priority-fencing-delay, so the node running the group wins otherwise.
        if node == s.nodes[0]:
            assert 0 < int(p["pcmk_delay_base"].removesuffix("s")) < s.cluster.priority_fencing_delay_s
        else:
            assert "pcmk_delay_base" not in p and "pcmk_delay_max" not in p
        avoid = cib.find(f".//rsc_location[@rsc='{device.get('id')}']")
        assert avoid.get("node") == node.name and avoid.get("score") == "-INFINITY"
    assert props(cib)["stonith-enabled"] == "true"
    assert props(cib)["priority-fencing-delay"] == "15s"


def test_cib_never_holds_a_bmc_password():
    """The CIB is replicated to every node and shown by `cibadmin -Q`: a fence device reads its password from
    the root-only file the bmc-password step writes, never from a parameter."""
    s = load_settings("dev")
    cib = ET.fromstring(render_cib(s))
    for node in s.nodes:
        p = params(cib.find(f".//primitive[@id='fence-{node.name}']"))
        assert p["password_script"] == f"cat /etc/bluemind-ha/bmc/{node.name}.password"
        assert not {"password", "passwd"} & set(p)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_group_moves_storage_then_vip_then_postgresql_then_bluemind(stack):
    s = load_settings(stack)
    cib = ET.fromstring(render_cib(s))
    group = cib.find(".//group[@id='bluemind']")
    members = [p.get("id") for p in group.findall("primitive")]
    filesystems = {params(p)["directory"]: p for p in group.findall("primitive[@type='Filesystem']")}
    assert {"/var/spool/cyrus", "/var/lib/cyrus", "/var/lib/postgresql"} <= set(filesystems)
    assert all(params(p)["device"].startswith("/dev/disk/by-label/") for p in filesystems.values())  # never a LUN number
    vip = group.find("primitive[@id='vip']")
    assert vip.get("type") == "IPaddr2" and params(vip)["ip"] == s.network.vip
    assert members.index("vip") > max(members.index(f.get("id")) for f in filesystems.values())
    assert members.index("vip") < members.index("svc-postgresql") < members.index("svc-bm-core")


# What each BlueMind unit is ordered after (its systemd unit's After=/Before=; ../shared/reference/bluemind.md
# section 2), written out here rather than derived from the renderer's own list.
STARTS_AFTER = {
    "svc-postgresql": ("svc-bm-pimp",),  # bm-pimp writes postgresql.conf.pimp: Before=postgresql.service
    "svc-bm-elasticsearch": ("svc-bm-pimp",),
    "svc-bm-node": ("svc-bm-pimp",),
    "svc-bm-webserver": ("svc-bm-pimp", "svc-bm-node"),
    "svc-bm-core": ("svc-bm-pimp", "svc-bm-node", "svc-postgresql", "svc-bm-elasticsearch"),
    "svc-bm-eas": ("svc-bm-core",),
    "svc-bm-ysnp": ("svc-bm-core",),
    "svc-bm-hps": ("svc-bm-core",),
    "svc-bm-xmpp": ("svc-bm-core",),
    "svc-bm-milter": ("svc-bm-ysnp",),
    "svc-bm-lmtpd": ("svc-bm-ysnp",),
    "svc-bm-nginx": ("svc-bm-pimp", "svc-bm-core"),
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_services_start_after_what_their_units_need(stack):
    cib = ET.fromstring(render_cib(load_settings(stack)))
    members = [p.get("id") for p in cib.findall(".//group[@id='bluemind']/primitive")]
    checked = 0
    for member, needs in STARTS_AFTER.items():
        for need in needs:
            if member in members and need in members:
                assert members.index(need) < members.index(member), f"{member} starts before {need}"
                checked += 1
    assert checked >= 15 and members[-1] == "svc-lsyncd"


def test_4x_and_5x_service_lists_differ_as_bluemind_does():
    dev, prod = group_member_ids(load_settings("dev")), group_member_ids(load_settings("prod"))
    assert "svc-bm-cyrus-imapd" in dev and "svc-bm-cyrus-imapd" not in prod
    assert "svc-bm-keycloak" in prod and "svc-bm-keycloak" not in dev


def test_manual_mode_disables_stonith_and_freezes_without_quorum():
    cib = ET.fromstring(render_cib(manual_prod()))
    assert props(cib)["stonith-enabled"] == "false" and props(cib)["no-quorum-policy"] == "freeze"
    assert not cib.findall(".//primitive[@class='stonith']")


def test_manual_mode_never_moves_the_group_after_failures():
    """The seed: no automatic changeover without STONITH, failed monitors and starts included."""
    manual = ET.fromstring(render_cib(manual_prod()))
    assert props(manual)["start-failure-is-fatal"] == "false"
    assert nvpair_value(manual.find(".//rsc_defaults"), META, "migration-threshold") == "0"
    fenced = ET.fromstring(render_cib(load_settings("prod")))
    assert props(fenced)["start-failure-is-fatal"] == "true"  # a push must turn a former manual mode's back
    assert nvpair_value(fenced.find(".//rsc_defaults"), META, "migration-threshold") == "3"


def test_stickiness_prevents_failback():
    cib = ET.fromstring(render_cib(load_settings("dev")))
    defaults = nvpairs(cib.find(".//rsc_defaults"), META)
    assert int(defaults["resource-stickiness"]) > 0 and defaults["migration-threshold"] == "3"


LIVE = """<cib validate-with="pacemaker-3.9" epoch="7" num_updates="3" admin_epoch="0"><configuration>
<crm_config><cluster_property_set id="cib-bootstrap-options">
 <nvpair id="o1" name="dc-version" value="2.1.5"/><nvpair id="o2" name="maintenance-mode" value="true"/>
 <nvpair id="o3" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="1" uname="bm1"><instance_attributes id="n1"><nvpair id="n1-standby" name="standby" value="on"/>
</instance_attributes></node></nodes>
<resources><group id="bluemind"><meta_attributes id="bluemind-meta_attributes">
 <nvpair id="bluemind-meta_attributes-target-role" name="target-role" value="Stopped"/></meta_attributes>
 <primitive id="old-member" class="ocf" provider="heartbeat" type="Dummy"/></group></resources>
<constraints><rsc_location id="cli-prefer-bluemind" rsc="bluemind" node="bm2" score="INFINITY"/>
 <rsc_location id="stale" rsc="old-member" node="bm1" score="10"/></constraints>
<rsc_defaults><meta_attributes id="bluemind-ha-rsc-defaults">
 <nvpair id="d1" name="is-managed" value="false"/><nvpair id="d2" name="migration-threshold" value="9"/>
</meta_attributes></rsc_defaults>
</configuration><status/></cib>"""


def test_cib_push_keeps_admin_state_and_replaces_what_we_own():
    merged = ET.fromstring(merge_cib(LIVE, render_cib(load_settings("dev"))))
    options = nvpairs(merged.find(".//crm_config"), PROPERTIES)
    assert options["maintenance-mode"] == "true" and options["dc-version"] == "2.1.5"  # admin's and pacemaker's
    assert options["stonith-enabled"] == "true"                                        # ours wins
    assert nvpair_value(merged.find(".//node[@uname='bm1']"), INSTANCE, "standby") == "on"
    assert merged.find(".//rsc_location[@id='cli-prefer-bluemind']") is not None     # a move survives
    assert merged.find(".//rsc_location[@id='stale']") is None                       # ours are replaced
    assert merged.find(".//primitive[@id='old-member']") is None
    assert nvpair_value(merged.find(".//group[@id='bluemind']"), META, "target-role") == "Stopped"
    assert merged.find(".//primitive[@id='fs-var-spool-cyrus']") is not None
    defaults = nvpairs(merged.find(".//rsc_defaults"), META)
    assert defaults["is-managed"] == "false"                                          # an admin's maintenance
    assert defaults["migration-threshold"] == "3"                                     # ours wins


def _acl(conf: str, kind: str) -> list[str]:
    return [line.split()[1] for line in conf.splitlines() if line.strip().startswith(f"initiator-{kind} ")]


def test_targets_conf_admits_only_the_two_nodes_with_mutual_chap():
    s = load_settings("dev")
    conf = render_targets_conf(s, "s3cret-chap", "mutual-s3cret")
    assert _acl(conf, "name") == [n.iqn for n in s.nodes]
    assert _acl(conf, "address") == [n.ip for n in s.nodes]
    assert "    incominguser bluemind s3cret-chap\n" in conf
    assert "    outgoinguser bluemind-target mutual-s3cret\n" in conf
    # tgt answers HeaderDigest=None unless the target is set to CRC32C (the nodes require it)
    assert "    HeaderDigest CRC32C\n    DataDigest None\n" in conf


def test_with_a_storage_network_the_acl_is_the_storage_addresses_alone():
    """tgt admits an address OR a name: an IQN listed would let a foreign address in with a guessed IQN."""
    s = with_storage_network("dev")
    conf = render_targets_conf(s, "s3cret-chap", "mutual-s3cret")
    assert _acl(conf, "address") == ["10.97.0.11", "10.97.0.12"]
    assert _acl(conf, "name") == []
    assert [int(line.split()[1]) for line in conf.splitlines() if line.strip().startswith("lun ")] == \
        [lun.number for lun in s.storage.luns]


def test_each_probed_service_tells_its_agent_the_stop_ops_timeout():
    import xml.etree.ElementTree as ET

    from components.render.cib import render_cib
    from tools.stackfile import load_settings

    for stack in ("dev", "prod"):
        cib = ET.fromstring(render_cib(load_settings(stack)))
        agents = cib.findall(".//primitive[@provider='bluemind-ha'][@type='service']")
        assert len(agents) >= 5
        for prim in agents:
            params = nvpairs(prim, INSTANCE)
            stop = prim.find("operations/op[@name='stop']").get("timeout")
            assert f"{params['stop_timeout']}s" == stop, prim.get("id")
