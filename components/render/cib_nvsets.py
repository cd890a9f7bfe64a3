"""CIB name/value sets, written, read and merged in one place.

Pacemaker keeps every option as an `<nvpair id name value>` inside a set: `<instance_attributes>` (an agent's
parameters, a node's attributes), `<meta_attributes>` (how pacemaker treats a resource, an alert, the
defaults) or `<cluster_property_set>` (cluster properties). The renderer writes them, the CIB merge sets ours
by name inside a live CIB, the failover tool reads and edits them, and the tests do both: all go through here,
so a pair's id, its place in its set and how a set is found are decided once (pcs has the same idea in
pcs/lib/cib/nvpair.py).

Standard library only: cib-push.sh ships this file next to cib_merge.py to the node, where it runs as a plain
script with the node's python3.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping

INSTANCE = "instance_attributes"
META = "meta_attributes"
PROPERTIES = "cluster_property_set"
NVSET_TAGS = (INSTANCE, META, PROPERTIES)


def _unchecked(value: str) -> str:
    return value


def set_id_of(owner_id: str, tag: str) -> str:
    """The id of an element's own set `tag` (`bluemind-meta_attributes`), as pcs and crm_resource name it."""
    return f"{owner_id}-{tag}"


def pair_id(nvset: ET.Element, name: str) -> str:
    """A pair's id: its set's id and its name, as pacemaker's own tools (crm_attribute, crm_resource) make it."""
    return f"{nvset.get('id')}-{name}"


# --- writing ---------------------------------------------------------------------------------------------------
def append_nvset(parent: ET.Element, tag: str, set_id: str, pairs: Iterable[tuple[str, str]],
                 claim: Callable[[str], str] = _unchecked) -> ET.Element:
    """A new set `tag` with `pairs` in this order, last in `parent`. `claim` sees every id first (the renderer
    passes one that refuses a duplicate)."""
    if tag not in NVSET_TAGS:
        raise ValueError(f"not a CIB nvset: {tag}")
    nvset = ET.SubElement(parent, tag, id=claim(set_id))
    for name, value in pairs:
        ET.SubElement(nvset, "nvpair", id=claim(pair_id(nvset, name)), name=name, value=value)
    return nvset


def first_nvset(parent: ET.Element, tag: str, set_id: str) -> ET.Element:
    """`parent`'s first set `tag`, created first in `parent` (with id `set_id`) when it has none: where
    pacemaker's tools look for, and put, an attribute they set."""
    nvset = parent.find(tag)
    if nvset is None:
        nvset = ET.Element(tag, id=set_id)
        parent.insert(0, nvset)
    return nvset


def set_nvpair(nvset: ET.Element, name: str, value: str | None) -> None:
    """Set `name` to `value` in `nvset`: in place when it is there, else appended; None removes it."""
    pair = find_nvpair(nvset, name)
    if value is None:
        if pair is not None:
            nvset.remove(pair)
    elif pair is None:
        ET.SubElement(nvset, "nvpair", id=pair_id(nvset, name), name=name, value=value)
    else:
        pair.set("value", value)


def set_nvpairs(nvset: ET.Element, pairs: Mapping[str, str | None]) -> None:
    for name, value in pairs.items():
        set_nvpair(nvset, name, value)


def replace_nvsets(parent: ET.Element, tag: str, set_id: str, pairs: Iterable[tuple[str, str]]) -> None:
    """`parent`'s sets `tag` dropped and, when there are `pairs`, one new set first in `parent`."""
    for old in parent.findall(tag):
        parent.remove(old)
    pairs = list(pairs)
    if pairs:
        nvset = append_nvset(parent, tag, set_id, pairs)
        parent.remove(nvset)
        parent.insert(0, nvset)


# --- reading ---------------------------------------------------------------------------------------------------
def find_nvpair(nvset: ET.Element, name: str) -> ET.Element | None:
    return next((pair for pair in nvset.findall("nvpair") if pair.get("name") == name), None)


def nvpairs(owner: ET.Element | None, tag: str) -> dict[str, str]:
    """Every pair of `owner`'s own sets `tag`, by name (a later set's pair wins; no rules are evaluated: we
    render none). An absent owner has none."""
    if owner is None:
        return {}
    return {pair.get("name"): pair.get("value") for nvset in owner.findall(tag) for pair in nvset.findall("nvpair")}


def nvpair_value(owner: ET.Element | None, tag: str, name: str) -> str | None:
    """The value of `name` in `owner`'s sets `tag`, None when it is not set."""
    return nvpairs(owner, tag).get(name)


def pairs_named(owner: ET.Element, tag: str, names: Iterable[str]) -> list[ET.Element]:
    """The pair elements of `owner`'s sets `tag` whose name is one of `names`, in document order."""
    wanted = set(names)
    return [pair for nvset in owner.findall(tag) for pair in nvset.findall("nvpair") if pair.get("name") in wanted]


# --- merging ---------------------------------------------------------------------------------------------------
def _put(nvset: ET.Element, pair: ET.Element) -> None:
    """`pair` where the pair of the same name stands (a patch that reorders siblings fails crm_diff's digest
    check, so nothing may move), or last."""
    old = find_nvpair(nvset, pair.get("name"))
    if old is None:
        nvset.append(pair)
    else:
        nvset[list(nvset).index(old)] = pair


def merge_nvsets(live: ET.Element, rendered: ET.Element) -> None:
    """Each set of `rendered` into `live`: a set `live` lacks is appended whole; in a set both have (same tag
    and id), our pairs are set by name. Every other pair or set in `live` (an admin's, pacemaker's) stays."""
    for new_set in rendered:
        old_set = next((s for s in live.findall(new_set.tag) if s.get("id") == new_set.get("id")), None)
        if old_set is None:
            live.append(new_set)
            continue
        for pair in new_set.findall("nvpair"):
            _put(old_set, pair)


def add_missing_nvpairs(nvset: ET.Element, pairs: Iterable[ET.Element]) -> None:
    """Append the pairs whose name `nvset` does not have yet (the first of a name wins)."""
    for pair in pairs:
        if find_nvpair(nvset, pair.get("name")) is None:
            nvset.append(pair)
