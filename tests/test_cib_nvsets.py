"""components/render/cib_nvsets.py: the one place that writes, reads and merges CIB name/value sets."""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from components.render import cib_merge, cib_nvsets
from components.render.cib_nvsets import (
    INSTANCE,
    META,
    PROPERTIES,
    add_missing_nvpairs,
    append_nvset,
    first_nvset,
    merge_nvsets,
    nvpair_value,
    nvpairs,
    pairs_named,
    replace_nvsets,
    set_id_of,
    set_nvpair,
)


def _xml(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode")


def test_a_set_is_written_with_its_pairs_in_order_and_pacemakers_ids():
    owner = ET.Element("primitive", id="vip")
    append_nvset(owner, INSTANCE, set_id_of("vip", INSTANCE), [("ip", "10.0.0.9"), ("nic", "eth0")])
    assert _xml(owner) == (
        '<primitive id="vip"><instance_attributes id="vip-instance_attributes">'
        '<nvpair id="vip-instance_attributes-ip" name="ip" value="10.0.0.9" />'
        '<nvpair id="vip-instance_attributes-nic" name="nic" value="eth0" /></instance_attributes></primitive>')
    assert nvpairs(owner, INSTANCE) == {"ip": "10.0.0.9", "nic": "eth0"}
    assert nvpair_value(owner, INSTANCE, "nic") == "eth0"
    assert nvpair_value(owner, META, "nic") is None and nvpairs(None, META) == {}


def test_every_id_goes_through_the_claim_and_a_non_nvset_is_refused():
    claimed: list[str] = []
    append_nvset(ET.Element("x"), META, "x-meta", [("a", "1")], claim=lambda i: claimed.append(i) or i)
    assert claimed == ["x-meta", "x-meta-a"]
    with pytest.raises(ValueError, match="not a CIB nvset"):
        append_nvset(ET.Element("x"), "operations", "x-ops", [])


def test_a_pair_is_set_in_place_appended_or_removed():
    nvset = append_nvset(ET.Element("crm_config"), PROPERTIES, "opts", [("a", "1"), ("b", "2")])
    set_nvpair(nvset, "a", "9")
    set_nvpair(nvset, "c", "3")
    set_nvpair(nvset, "b", None)
    set_nvpair(nvset, "gone", None)
    assert [(p.get("id"), p.get("name"), p.get("value")) for p in nvset] == [("opts-a", "a", "9"), ("opts-c", "c", "3")]


def test_the_first_set_is_found_or_created_first():
    group = ET.Element("group", id="g")
    ET.SubElement(group, "primitive", id="p")
    created = first_nvset(group, META, set_id_of("g", META))
    assert list(group)[0] is created and created.get("id") == "g-meta_attributes"
    assert first_nvset(group, META, "other") is created


def test_replacing_the_sets_puts_one_new_set_first_or_none():
    rsc = ET.Element("primitive", id="p")
    ET.SubElement(rsc, "operations")
    append_nvset(rsc, INSTANCE, "old", [("x", "1")])
    replace_nvsets(rsc, INSTANCE, "p-instance_attributes", [("y", "2")])
    assert [c.get("id") or c.tag for c in rsc] == ["p-instance_attributes", "operations"]
    assert nvpairs(rsc, INSTANCE) == {"y": "2"}
    replace_nvsets(rsc, INSTANCE, "p-instance_attributes", [])
    assert rsc.find(INSTANCE) is None


def test_a_merge_sets_our_pairs_by_name_in_place_and_keeps_every_other_pair_and_set():
    live = ET.fromstring('<rsc_defaults><meta_attributes id="ours"><nvpair id="o1" name="admin" value="a"/>'
                         '<nvpair id="o2" name="stickiness" value="1"/></meta_attributes>'
                         '<meta_attributes id="theirs"/></rsc_defaults>')
    rendered = ET.Element("rsc_defaults")
    append_nvset(rendered, META, "ours", [("stickiness", "100"), ("new", "n")])
    append_nvset(rendered, META, "added", [("z", "1")])
    merge_nvsets(live, rendered)
    assert [s.get("id") for s in live] == ["ours", "theirs", "added"]
    assert [(p.get("name"), p.get("value")) for p in live.find(META)] == [
        ("admin", "a"), ("stickiness", "100"), ("new", "n")]


def test_kept_pairs_are_picked_by_name_and_added_back_only_when_missing():
    owner = ET.fromstring('<group id="g"><meta_attributes id="m1"><nvpair id="a" name="target-role" value="Stopped"/>'
                          '</meta_attributes><meta_attributes id="m2"><nvpair id="b" name="priority" value="1"/>'
                          '<nvpair id="c" name="target-role" value="Started"/></meta_attributes></group>')
    kept = pairs_named(owner, META, ["target-role"])
    assert [p.get("id") for p in kept] == ["a", "c"]
    fresh = append_nvset(ET.Element("group"), META, "g-meta_attributes", [])
    add_missing_nvpairs(fresh, kept)
    assert [p.get("id") for p in fresh] == ["a"]  # the first of a name wins


def test_the_merge_runs_as_a_plain_script_beside_the_module(tmp_path):
    """On the node cib-push.sh writes both files into one folder and runs the merge as a script."""
    for module in (cib_merge, cib_nvsets):
        (tmp_path / f"{module.__name__.rsplit('.', 1)[1]}.py").write_text(open(module.__file__).read())
    cib = ('<cib><configuration><crm_config/><nodes/><resources/><constraints/><rsc_defaults/><op_defaults/>'
           '</configuration><status/></cib>')
    (tmp_path / "live.xml").write_text(cib)
    (tmp_path / "rendered.xml").write_text(cib)
    result = subprocess.run([sys.executable, str(tmp_path / "cib_merge.py"), str(tmp_path / "live.xml"),
                             str(tmp_path / "rendered.xml")], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert ET.fromstring(result.stdout).find("configuration/resources") is not None
