"""One test per validation rule: each bad input is refused with a message naming the key and the fix."""
from __future__ import annotations

import copy

import pytest

from components.settings import SettingsError, parse_settings
from tools.stackfile import read_stack_config


def stack(name: str):
    config, secrets = read_stack_config(name)
    return copy.deepcopy(config), set(secrets)


def refused(config, secrets, stack_name="dev") -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        parse_settings(stack_name, config, secrets)
    return caught.value


@pytest.mark.parametrize("name", ["dev", "prod", "lab"])
def test_committed_stacks_are_valid(name):
    config, secrets = stack(name)
    s = parse_settings(name, config, secrets)
    assert len(s.nodes) == 2 and s.fenced


def test_exactly_two_nodes():
    config, secrets = stack("dev")
    config["nodes"].append(dict(config["nodes"][1], name="bm3", id=3, ip="192.168.150.13"))
    error = refused(config, secrets)
    assert error.key == "bluemind-ha:nodes" and "exactly two" in error.problem


@pytest.mark.parametrize("field,value", [("name", "bm1"), ("id", 1), ("ip", "192.168.150.11")])
def test_node_names_ids_and_ips_are_unique(field, value):
    config, secrets = stack("dev")
    config["nodes"][1][field] = value
    error = refused(config, secrets)
    assert error.key == f"bluemind-ha:nodes[1].{field}" and "same as nodes[0]" in error.problem


def test_vip_must_lie_in_the_nodes_subnet():
    config, secrets = stack("dev")
    config["network"]["vip"] = "10.0.0.5"
    error = refused(config, secrets)
    assert error.key == "bluemind-ha:network.vip" and "192.168.150.0/24" in error.problem


@pytest.mark.parametrize("vip,owner", [("192.168.150.11", "nodes[0].ip"), ("192.168.150.20", "storage portal"),
                                       ("192.168.150.1", "network.gateway")])
def test_vip_differs_from_every_node_bmc_and_storage_address(vip, owner):
    config, secrets = stack("dev")
    config["network"]["vip"] = vip
    assert owner in refused(config, secrets).problem


def test_vip_differs_from_a_bmc_address():
    config, secrets = stack("prod")
    config["network"]["vip"] = "10.30.0.11"
    config["network"]["subnet"] = "10.0.0.0/8"
    config["network"]["gateway"] = "10.0.0.1"
    # (10.0.0.0/8 also swallows the second link's subnet: every problem is reported, this one among them)
    assert any("nodes[0].bmc.address" in e.problem for e in refused(config, secrets, "prod").errors)


def test_automatic_failover_without_fencing_is_refused_with_the_seeds_reason():
    config, secrets = stack("prod")
    del config["nodes"][1]["bmc"]
    error = refused(config, secrets, "prod")
    assert error.key == "bluemind-ha:nodes[1].bmc"
    assert "split-brain" in error.problem and "corrupted data" in error.problem
    assert "failover to manual" in error.fix


def test_manual_failover_without_fencing_is_allowed_and_disables_stonith():
    config, secrets = stack("prod")
    for node in config["nodes"]:
        del node["bmc"]
    config["failover"] = "manual"
    s = parse_settings("prod", config, secrets - {"bmc_password_bm_prod_a", "bmc_password_bm_prod_b"})
    assert not s.fenced


def test_manual_failover_refuses_a_migration_threshold():
    """A threshold would move the group after failures: an automatic changeover, which manual mode never makes."""
    config, secrets = stack("dev")
    for node in config["nodes"]:
        del node["bmc"]
    config["failover"] = "manual"
    config["cluster"]["migration_threshold"] = 3
    error = refused(config, secrets)
    assert error.key == "bluemind-ha:cluster.migration_threshold" and "split-brain" in error.problem
    assert "remove it" in error.fix


@pytest.mark.parametrize("key,value", [("kind", "nfs"), ("fstype", "nfs4")])
def test_nfs_is_refused_for_the_data(key, value):
    config, secrets = stack("dev")
    config["storage"][key] = value
    error = refused(config, secrets)
    assert error.key == f"bluemind-ha:storage.{key}" and "cyrus-imap does not support NFS" in error.problem


def test_bare_metal_below_bluemind_sizing_is_refused():
    config, secrets = stack("prod")
    config["nodes"][0]["ram_gb"] = 32
    config["nodes"][1]["ram_gb"] = 32
    error = refused(config, secrets, "prod")
    assert error.key == "bluemind-ha:nodes[0].ram_gb" and "48 GB" in error.problem


def test_vms_are_sized_from_the_tables_and_overrides_may_not_go_below():
    config, secrets = stack("dev")
    s = parse_settings("dev", config, secrets)
    assert (s.nodes[0].cores, s.nodes[0].ram_gb) == (2, 16)  # 4.9, 100 users x 2 units: 2 cores, 16 GB
    config["nodes"][0]["cores"] = 1
    assert refused(config, secrets).key == "bluemind-ha:nodes[0].cores"


def test_nodes_must_have_equal_ram():
    config, secrets = stack("prod")
    config["nodes"][1]["ram_gb"] = 96
    assert "bm-pimp" in refused(config, secrets, "prod").fix


def test_lun_size_override_below_the_derived_minimum_is_refused():
    config, secrets = stack("prod")
    config["storage"]["lun_sizes_gb"]["/var/spool/cyrus"] = 100
    error = refused(config, secrets, "prod")
    assert error.key == "bluemind-ha:storage.lun_sizes_gb./var/spool/cyrus" and "8801" in error.fix


@pytest.mark.parametrize("secret", ["chap_password", "bmc_password_bm1", "subscription_url", "corosync_authkey"])
def test_a_plain_password_is_refused_with_the_command_to_fix_it(secret):
    config, secrets = stack("dev")
    secrets.discard(secret)
    error = refused(config, secrets)
    assert error.key == f"bluemind-ha:{secret}" and "plain text" in error.problem
    assert f"pulumi config set --secret bluemind-ha:{secret}" in error.fix


def test_a_missing_secret_is_refused():
    config, secrets = stack("dev")
    del config["chap_password"]
    assert "is missing" in refused(config, secrets).problem


def test_an_external_san_must_number_every_directory():
    config, secrets = stack("prod")
    del config["storage"]["lun_numbers"]["/var/lib/postgresql"]
    assert refused(config, secrets, "prod").key == "bluemind-ha:storage.lun_numbers./var/lib/postgresql"


def test_second_link_needs_an_address_on_both_nodes():
    config, secrets = stack("prod")
    del config["nodes"][1]["link1_ip"]
    assert refused(config, secrets, "prod").key == "bluemind-ha:nodes[1].link1_ip"


def test_a_misspelt_key_is_named_with_a_suggestion():
    config, secrets = stack("dev")
    config["network"]["vipp"] = config["network"].pop("vip")
    error = refused(config, secrets)
    assert error.key == "bluemind-ha:network.vipp" and "did you mean 'vip'" in error.fix


def test_lab_bmcs_must_listen_on_the_hypervisor_on_distinct_ports():
    config, secrets = stack("dev")
    config["nodes"][1]["bmc"]["port"] = 6230
    assert "bluemind-ha:nodes[1].bmc.port" in [e.key for e in refused(config, secrets).errors]
    config, secrets = stack("dev")
    config["nodes"][0]["bmc"]["address"] = "192.168.150.30"
    assert "hypervisor" in refused(config, secrets).problem


def test_stonith_timeout_must_cover_the_fencing_delay():
    config, secrets = stack("dev")
    config["cluster"] = {"priority_fencing_delay_s": 60, "stonith_timeout_s": 30}
    assert refused(config, secrets).key == "bluemind-ha:cluster.stonith_timeout_s"
    # ... and the primary's static delay (half the priority delay) on top of it.
    config["cluster"] = {"priority_fencing_delay_s": 60, "stonith_timeout_s": 90}
    assert "90 s" in refused(config, secrets).problem
    config["cluster"] = {"priority_fencing_delay_s": 60, "stonith_timeout_s": 91}
    assert parse_settings("dev", config, secrets).policy.fence_delay_base_s == 30


def test_ping_targets_default_to_the_gateway_and_never_name_a_node_or_the_vip():
    config, secrets = stack("prod")
    s = parse_settings("prod", config, secrets)
    assert s.ping_targets == (s.network.gateway,)
    config["cluster"]["ping_targets"] = ["10.20.0.1", "10.20.0.2"]
    assert parse_settings("prod", config, secrets).ping_targets == ("10.20.0.1", "10.20.0.2")
    for bad, says in (([], "empty list"), (["10.20.0.1", "10.20.0.1"], "twice"), (["10.20.0.50"], "the VIP"),
                      (["10.20.0.11"], "bm-prod-a's own address")):
        config["cluster"]["ping_targets"] = bad
        error = refused(config, secrets, "prod")
        assert error.key.startswith("bluemind-ha:cluster.ping_targets") and says in error.problem, error


def test_alerts_need_a_relay_that_is_not_the_nodes_postfix():
    config, secrets = stack("prod")
    assert parse_settings("prod", config, secrets).cluster.alert_relay == "smtp.example.com:25"
    del config["cluster"]["alert_relay"]
    error = refused(config, secrets, "prod")
    assert error.key == "bluemind-ha:cluster.alert_recipient" and "alert_relay" in error.problem
    for good in ("smtp.example.com", "10.20.0.25:587", "relay:25", "smtp.example.com:65535"):
        config["cluster"]["alert_relay"] = good
        assert parse_settings("prod", config, secrets).cluster.alert_relay == good
    for bad in ("smtp.example.com:0", "smtp.example.com:65536", "smtp://smtp.example.com", "a b", "host:25:25",
                "-relay", "smtp.example.com:"):
        config["cluster"]["alert_relay"] = bad
        assert refused(config, secrets, "prod").key == "bluemind-ha:cluster.alert_relay", bad


@pytest.mark.parametrize("cipher", [0, 1, 2])
def test_weak_ipmi_cipher_suites_are_refused(cipher):
    config, secrets = stack("dev")
    config["cluster"] = {"ipmi_cipher": cipher}
    error = refused(config, secrets)
    assert error.key == "bluemind-ha:cluster.ipmi_cipher" and "skips authentication" in error.fix


def test_a_downgrade_is_allowed_only_explicitly_and_the_plan_says_so(tmp_path):
    from tools.plan import summary
    config, secrets = stack("prod")
    s = parse_settings("prod", config, secrets)
    assert s.bluemind.allow_downgrade is False and "DOWNGRADE" not in summary(s, tmp_path)
    config["bluemind"]["allow_downgrade"] = True
    s = parse_settings("prod", config, secrets)
    assert s.bluemind.allow_downgrade is True and "DOWNGRADE ALLOWED" in summary(s, tmp_path)
    config["bluemind"]["allow_downgrade"] = "true"
    assert refused(config, secrets, "prod").key == "bluemind-ha:bluemind.allow_downgrade"


@pytest.mark.parametrize("as_secret", [True, False])
def test_a_stack_that_still_sets_the_unused_hacluster_password_is_told_to_remove_it(as_secret):
    config, secrets = stack("dev")
    config["hacluster_password"] = "secret0123456789"
    if as_secret:
        secrets.add("hacluster_password")
    error = refused(config, secrets)
    assert error.key == "bluemind-ha:hacluster_password" and "no longer used" in error.problem
    assert error.fix == "remove it: pulumi config rm bluemind-ha:hacluster_password"


def test_no_hacluster_password_is_required():
    from components.settings import required_secrets
    config, secrets = stack("dev")
    assert "hacluster_password" not in required_secrets(config) and "hacluster_password" not in config
    parse_settings("dev", config, secrets)


def test_the_apt_signing_key_is_optional_and_read_as_one_armored_public_key():
    from tests.settings_refusal_cases import PGP_PUBLIC_KEY
    config, secrets = stack("prod")
    assert parse_settings("prod", config, secrets).bluemind.apt_signing_key is None
    config["bluemind"]["apt_signing_key"] = PGP_PUBLIC_KEY.rstrip("\n").replace("\n", "\r\n")
    assert parse_settings("prod", config, secrets).bluemind.apt_signing_key == PGP_PUBLIC_KEY
    config["bluemind"]["apt_signing_key"] = PGP_PUBLIC_KEY.replace("PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK")
    error = refused(config, secrets, "prod")
    assert error.key == "bluemind-ha:bluemind.apt_signing_key" and "private key" in error.problem
    assert "mDMEaw" not in str(error), "a refused key is not echoed"


def test_a_host_is_renamed_only_when_its_node_says_so():
    config, secrets = stack("prod")
    assert not any(n.rename_host for n in parse_settings("prod", config, secrets).nodes)
    config["nodes"][1]["rename_host"] = True
    assert [n.rename_host for n in parse_settings("prod", config, secrets).nodes] == [False, True]
