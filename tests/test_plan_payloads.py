"""The offline plan shows everything a host receives: each step's stdin beside its script, secrets masked."""
from __future__ import annotations

import json

import pytest

from tools.plan import masked_payload, write_plan
from tools.stackfile import read_stack_config


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    config, secrets = read_stack_config(request.param)
    write_plan(request.param, out, config, secrets)
    return out, config, secrets


def test_every_step_fed_on_stdin_has_its_payload_beside_its_script(plan):
    out, _, _ = plan
    fed = {r["name"] for r in json.loads((out / "resources.json").read_text())
           if r["type"] == "command:remote:Command" and "stdin" in r["inputs"]}
    payloads = sorted(out.glob("nodes/*/*.stdin"))
    assert len(payloads) == len(fed) >= 10
    for payload in payloads:
        assert payload.with_suffix(".sh").is_file(), payload


def test_a_reviewer_sees_the_sync_configuration_and_the_service_agent(plan):
    out, config, _ = plan
    node = out / "nodes" / config["nodes"][0]["name"]
    assert "sync {\n    default.rsync," in (node / "56-sync-config.stdin").read_text()
    assert "OCF_ROOT" in (node / "15-cluster-agents.stdin").read_text()


def test_no_secret_reaches_a_payload_unmasked(plan):
    out, config, secrets = plan
    text = "".join(p.read_text() for p in out.glob("nodes/*/*.stdin"))
    assert secrets and not [k for k in secrets if str(config[k]) in text]
    assert "[secret bluemind-ha:corosync_authkey]" in text


def test_a_secret_that_cannot_be_masked_withholds_the_whole_payload():
    assert masked_payload("pw=abc\n", {"x": "abc"}) == "pw=[secret bluemind-ha:x]\n"
    assert "withheld" in masked_payload("pw=bluemind\n", {"x": "bluemind"})


@pytest.mark.parametrize("with_key", [True, False], ids=["signing-key", "no-signing-key"])
def test_the_apt_source_names_the_stacks_signing_key_and_the_plan_shows_the_key(tmp_path, with_key):
    """With bluemind.apt_signing_key the source line says signed-by=/etc/apt/keyrings/bluemind.asc and the step's
    script carries the key; without it, neither (apt must trust BlueMind's key otherwise)."""
    from tests.settings_refusal_cases import PGP_PUBLIC_KEY
    config, secrets = read_stack_config("prod")
    if with_key:
        config = {**config, "bluemind": {**config["bluemind"], "apt_signing_key": PGP_PUBLIC_KEY}}
    write_plan("prod", tmp_path, config, secrets)
    step = tmp_path / "nodes" / "bm-prod-a" / "18-bluemind-apt-source"
    line = step.with_suffix(".stdin").read_text()
    script = step.with_suffix(".sh").read_text()
    if with_key:
        assert line == "deb [signed-by=/etc/apt/keyrings/bluemind.asc] [secret bluemind-ha:subscription_url] " \
                       "bluemind main\n"
        assert PGP_PUBLIC_KEY in script and "keyring_path=/etc/apt/keyrings/bluemind.asc" in script
    else:
        assert line == "deb [secret bluemind-ha:subscription_url] bluemind main\n"
        assert "signing_key=''" in script and "PGP PUBLIC KEY" not in script
