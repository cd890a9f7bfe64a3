"""The settings API other code reads: enums that compare as text, Settings.primary, the failover policy,
host keys, alert recipients, placeholder secrets and the subscription secret."""
from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import pytest

from components.render.cib import render_cib
from components.render.cib_nvsets import INSTANCE, META, PROPERTIES, nvpair_value, nvpairs
from components.render.corosync import render_corosync
from components.services import group_services
from components.settings import (
    FailoverMode,
    FailoverPolicy,
    HostKind,
    ProbeKind,
    SettingsError,
    StorageKind,
    parse_settings,
    required_secrets,
)
from tests.stacks import settings_of
from tools.stackfile import load_settings, read_stack, read_stack_config, with_placeholder_secrets


def _manual(stack: str):
    config, secrets = read_stack_config(stack)
    config = copy.deepcopy(config)
    config["failover"] = "manual"
    for node in config["nodes"]:
        del node["bmc"]
    return parse_settings(stack, config, secrets)


def test_enums_are_their_text():
    s = load_settings("dev")
    assert s.failover == "automatic" and s.failover is FailoverMode.AUTOMATIC
    assert s.host_kind == "libvirt" and isinstance(s.host_kind, HostKind)
    assert s.storage.kind == "tgt" and isinstance(s.storage.kind, StorageKind)
    assert f"{s.failover}" == str(s.failover) == "automatic" and json.dumps(s.failover) == '"automatic"'
    kinds = {svc.probe.kind for svc in group_services(5) if svc.probe}
    assert kinds <= set(ProbeKind) and "http" in kinds


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_primary_is_the_first_node(stack):
    s = load_settings(stack)
    assert s.primary == s.nodes[0]


def test_the_failover_policy_is_derived_once_from_the_mode():
    fenced, manual, arbitrated = load_settings("prod"), _manual("prod"), settings_of("prod-qdevice")
    assert fenced.policy == FailoverPolicy(two_node=True, stonith_enabled=True, no_quorum_policy="stop",
                                           migration_threshold=3, start_failure_is_fatal=True,
                                           priority_fencing_delay_s=15, fence_delay_base_s=7)
    # With an arbitrator only the quorate side fences: no two_node, no delays; an inquorate node freezes.
    assert arbitrated.policy == FailoverPolicy(two_node=False, stonith_enabled=True, no_quorum_policy="freeze",
                                               migration_threshold=3, start_failure_is_fatal=True,
                                               priority_fencing_delay_s=0, quorum_device=True)
    assert manual.policy == FailoverPolicy(two_node=False, stonith_enabled=False, no_quorum_policy="freeze",
                                           migration_threshold=0, start_failure_is_fatal=False)
    for s in (fenced, manual, arbitrated):
        cib = ET.fromstring(render_cib(s))
        props = nvpairs(cib.find(".//crm_config"), PROPERTIES) | nvpairs(cib.find(".//rsc_defaults"), META)
        assert props.get("priority-fencing-delay", "0s") == f"{s.policy.priority_fencing_delay_s}s"
        assert ("device {" in render_corosync(s)) == s.policy.quorum_device
        assert props["stonith-enabled"] == str(s.policy.stonith_enabled).lower()
        assert props["no-quorum-policy"] == s.policy.no_quorum_policy
        assert props["migration-threshold"] == str(s.policy.migration_threshold)
        assert props["start-failure-is-fatal"] == str(s.policy.start_failure_is_fatal).lower()
        assert ("two_node: 1" in render_corosync(s)) == s.policy.two_node
        delays = [nvpair_value(p, INSTANCE, "pcmk_delay_base") for p in cib.iter("primitive")
                  if p.get("class") == "stonith"]
        assert [d for d in delays if d] == ([f"{s.policy.fence_delay_base_s}s"] if s.policy.fence_delay_base_s else [])


def test_host_keys_are_exposed_for_existing_hosts_only():
    prod, dev = load_settings("prod"), load_settings("dev")
    assert all(n.ssh_host_key.startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5") for n in prod.nodes)
    assert all(n.ssh_host_key is None for n in dev.nodes) and dev.storage.host.ssh_host_key is None
    assert dev.libvirt.hypervisor_host_key.startswith("ssh-ed25519 ")


def test_several_alert_recipients_are_each_a_cib_recipient():
    config, secrets = read_stack_config("prod")
    config["cluster"]["alert_recipient"] = ["oncall@example.com", "backup@example.com"]
    s = parse_settings("prod", config, secrets)
    assert s.cluster.alert_recipient == "oncall@example.com"
    recipients = [r.get("value") for r in ET.fromstring(render_cib(s)).iter("recipient")]
    assert recipients == ["oncall@example.com", "backup@example.com"]


def test_the_offline_plan_supplies_placeholder_secrets_and_says_which():
    read = read_stack("prod")
    assert read.placeholders == ["corosync_authkey", "chap_password", "chap_mutual_password", "subscription_url",
                                 "bmc_password_bm_prod_a", "bmc_password_bm_prod_b"]
    assert set(read.placeholders) <= read.secrets
    bare = read_stack("prod", placeholders=False)
    assert not bare.secrets and "chap_password" not in bare.config
    with pytest.raises(SettingsError) as caught:
        parse_settings("prod", bare.config, bare.secrets)
    assert "bluemind-ha:subscription_url: is missing" in str(caught.value)
    assert "pulumi config set --secret bluemind-ha:chap_password" in str(caught.value)


def test_with_placeholder_secrets_keeps_the_admins_own():
    values, secrets, supplied = with_placeholder_secrets({"chap_password": "own"}, {"chap_password"},
                                                         ["chap_password", "subscription_url"])
    assert values["chap_password"] == "own" and supplied == ["subscription_url"]
    assert secrets == {"chap_password", "subscription_url"}


def test_required_secrets_follow_the_bmcs():
    config, _ = read_stack_config("prod")
    assert required_secrets(config)[-2:] == ["bmc_password_bm_prod_a", "bmc_password_bm_prod_b"]
    del config["nodes"][0]["bmc"]
    assert "bmc_password_bm_prod_a" not in required_secrets(config)
