"""Issue 18 item 1 in the settings and renderers: the optional storage network (validated, warned about when
missing), the ACL and the firewall bound to the storage addresses, and the CHAP secrets checked where the program
reads them. The real tgtd/libiscsi proofs are in tests/realtools/test_iscsi_target.py."""
from __future__ import annotations

import copy

import pulumi
import pytest

from components.render.firewall import render_ruleset
from components.settings import SettingsError, checks
from components.settings import schema as sc
from tests.stacks import with_storage_network
from tools.plan import run_program, summary
from tools.stackfile import ROOT, load_settings, read_stack_config

GOOD = {"chap_password": "a" * 12, "chap_mutual_password": "b" * 255}


@pytest.mark.parametrize("stack,key", [("dev", "storage.host.ip"), ("lab", "storage.portal")])
def test_a_portal_in_the_client_subnet_is_accepted_with_a_warning_naming_the_key(stack, key):
    s = load_settings(stack)
    assert [w[0] for w in s.warnings] == [key]
    assert "client subnet" in s.warnings[0][1] and "storage_subnet" in s.warnings[0][2]
    assert f"WARNING bluemind-ha:{key}: the iSCSI portal" in summary(s, ROOT / "build" / stack)


@pytest.mark.parametrize("stack", ["dev", "lab"])
def test_a_storage_network_leaves_nothing_to_warn_about(stack):
    s = with_storage_network(stack)
    assert s.storage_network and not s.warnings
    assert s.storage.portal_ip == "10.97.0.20"


def test_prod_puts_iscsi_on_its_own_network():
    s = load_settings("prod")
    assert s.storage_network and not s.warnings
    assert [n.iscsi_ip for n in s.nodes] == ["10.22.0.11", "10.22.0.12"] and s.storage.portal_ip == "10.22.0.40"


def test_up_shows_the_warning(monkeypatch):
    shown = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: shown.append(message))
    config, secrets = read_stack_config("lab")
    run_program("lab", copy.deepcopy(config), secrets)
    assert any(m.startswith("bluemind-ha:storage.portal: the iSCSI portal 10.99.0.250") for m in shown), shown


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_iscsi_leaves_only_from_the_storage_address(stack):
    s = load_settings(stack) if stack == "prod" else with_storage_network(stack)
    for node in s.nodes:
        rules = [line.strip() for line in render_ruleset(s, node).splitlines() if "dport 3260" in line]
        assert rules == [f"ip saddr {node.storage_ip} ip daddr {s.storage.portal_ip} tcp dport 3260 accept comment "
                         '"iSCSI to the portal from the storage address"']


@pytest.mark.parametrize("values,key,problem", [
    ({"chap_password": "a" * 11}, "chap_password", "is 11 characters long"),
    ({"chap_mutual_password": "b" * 256}, "chap_mutual_password", "is 256 characters long"),
    ({"chap_password": "twelve chars"}, "chap_password", "space"),
    ({"chap_mutual_password": "a" * 12}, "chap_mutual_password", "is the same as chap_password"),
])
def test_an_unfit_chap_secret_is_refused_naming_its_key_never_its_value(values, key, problem):
    with pytest.raises(SettingsError) as caught:
        checks.chap_secrets({**GOOD, **values})
    assert caught.value.key == f"bluemind-ha:{key}" and problem in caught.value.problem
    assert "openssl rand" in caught.value.fix
    assert values[key] not in str(caught.value)
    checks.chap_secrets(GOOD)  # the limits themselves pass
    assert sc.CHAP_SECRET_LENGTH == (12, 255)


def test_the_program_checks_the_chap_secret_where_it_reads_it_and_declares_nothing():
    config, secrets = read_stack_config("prod")
    config = {**copy.deepcopy(config), "chap_mutual_password": "tooShort1"}
    with pytest.raises(pulumi.RunError) as caught:
        run_program("prod", config, secrets)
    assert "bluemind-ha:chap_mutual_password: is 9 characters long" in str(caught.value)
    assert "tooShort1" not in str(caught.value)


def test_the_security_model_covers_every_secret_the_storage_network_and_the_hidepid_decision():
    text = (ROOT / "README.md").read_text()
    model = text[text.index("## Security model\n"):text.index("## Reviewing a change\n")]
    for secret in (*sc.SECRETS, "bmc_password_<node>", *sc.OPTIONAL_SECRETS):
        assert f"| `{secret}`" in model, secret
    for topic in ("`storage_subnet`", "WARNING", "mutual CHAP", "CRC32C", "Data digests are off", "`hidepid=2`",
                  "test_fence_password_exposure.py"):
        assert topic in model, topic
