"""The CIB push path with pacemaker's own tools: the spliced CIB verifies, crm_diff turns it into a patch that
applies to the live CIB, and re-pushing the same configuration is a no-op (the step is idempotent)."""
from __future__ import annotations

import copy
import subprocess
import xml.etree.ElementTree as ET

import pytest

from components.render.cib import render_cib
from components.render.cib_merge import merge_cib
from components.render.cib_nvsets import META, PROPERTIES, nvpair_value, set_nvpair
from components.settings import parse_settings
from tests.conftest import require_tool
from tools.stackfile import load_settings, read_stack_config


def run(*args: str, ok=(0,)) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode in ok, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def live_cib(tmp_path, stack: str) -> str:
    """A CIB as a running cluster holds it after an earlier push (stickiness 50 then), with the group
    started and admin state added since."""
    config, secrets = read_stack_config(stack)
    config = copy.deepcopy(config)
    config["cluster"] = dict(config.get("cluster") or {}, stickiness=50)
    s = parse_settings(stack, config, secrets)
    rendered = tmp_path / "rendered.xml"
    rendered.write_text(render_cib(s))
    settled = tmp_path / "settled.xml"
    nodes = [arg for n in s.nodes for arg in ("-u", n.name)]
    run("crm_simulate", "-x", str(rendered), *nodes, "-S", "-O", str(settled))
    cib = ET.parse(settled).getroot()
    # A running cluster stamps its CIB with its feature set; without it crm_diff falls back to the v1 format.
    cib.set("crm_feature_set", run("pacemakerd", "--features").stdout.split("Supporting v")[1].split()[0])
    set_nvpair(cib.find(f"configuration/crm_config/{PROPERTIES}"), "maintenance-mode", "true")
    ET.SubElement(cib.find("configuration/constraints"), "rsc_location", id="cli-ban-bluemind-on-" + s.nodes[0].name,
                  rsc="bluemind", node=s.nodes[0].name, score="-INFINITY")
    return ET.tostring(cib, encoding="unicode")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pushed_cib_verifies_patches_cleanly_and_keeps_admin_state(tmp_path, stack):
    require_tool("crm_simulate", "crm_verify", "crm_diff", "pacemakerd")
    live = tmp_path / "live.xml"
    live.write_text(live_cib(tmp_path, stack))
    new = tmp_path / "new.xml"
    new.write_text(merge_cib(live.read_text(), render_cib(load_settings(stack))))
    run("crm_verify", "--xml-file", str(new))

    patch = tmp_path / "patch.xml"
    patch.write_text(run("crm_diff", "--original", str(live), "--new", str(new), "--no-version", ok=(1,)).stdout)
    applied = run("crm_diff", "--original", str(live), "--patch", str(patch)).stdout
    result = ET.fromstring(applied)
    assert nvpair_value(result.find(".//crm_config"), PROPERTIES, "maintenance-mode") == "true"
    assert result.find(".//rsc_location[@id='cli-ban-bluemind-on-" + load_settings(stack).nodes[0].name + "']") is not None
    assert result.find(".//primitive[@type='fence_ipmilan']") is not None
    assert nvpair_value(result.find(".//rsc_defaults"), META, "resource-stickiness") == "100"  # the new configuration

    # A second push of the same configuration finds nothing to change.
    again = tmp_path / "again.xml"
    again.write_text(merge_cib(new.read_text(), render_cib(load_settings(stack))))
    assert run("crm_diff", "--original", str(new), "--new", str(again), "--no-version", ok=(0, 1)).returncode == 0
