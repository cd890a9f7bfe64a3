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
