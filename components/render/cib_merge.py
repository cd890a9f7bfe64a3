"""Splice the configuration bluemind-ha owns into a live CIB, keeping the admin's runtime state.

A plain `cibadmin --replace` of the configuration would wipe what admins set at run time: node standby and
maintenance (in <nodes>), `crm_resource --move/--ban` constraints (ids `cli-*`), `maintenance-mode` and
pacemaker's own properties (dc-version, cluster-infrastructure, ...), resource and operation defaults an admin
added (a cluster-wide is-managed=false), and per-resource target-role or is-managed. This module keeps all of
those and replaces everything else we render. The push script runs
it on the node (python3 is part of every Debian install), then `crm_diff` + `cibadmin --patch`, which is
how pcs pushes a CIB too.

Run as a script: `python3 cib_merge.py LIVE.xml RENDERED.xml > NEW.xml`, with cib_nvsets.py next to it
(cib-push.sh writes both).
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

if __package__:
    from components.render import cib_nvsets as nv
else:  # a plain script on the node: cib-push.sh writes the module next to it
    import cib_nvsets as nv

OWNED_SECTIONS = ("resources", "fencing-topology", "alerts")
# Properties and defaults are merged by name: an admin's maintenance-mode, or an is-managed=false in the
# resource defaults during a maintenance, must survive a push.
MERGED_BY_NAME = ("crm_config", "rsc_defaults", "op_defaults")
ADMIN_META = ("target-role", "is-managed", "maintenance")


def _section(config: ET.Element, tag: str) -> ET.Element:
    found = config.find(tag)
    return found if found is not None else ET.SubElement(config, tag)


def _replace_in_place(parent: ET.Element, old: ET.Element | None, new: ET.Element) -> None:
    """Put `new` where `old` stood. Order matters: a patch whose result reorders siblings fails to apply
    (crm_diff's digest check), so nothing we own may move."""
    if old is None:
        parent.append(new)
    else:
        parent[list(parent).index(old)] = new


def _admin_meta(resources: ET.Element) -> dict[str, list[ET.Element]]:
    kept: dict[str, list[ET.Element]] = {}
    for owner in resources.iter():
        if owner.tag in ("primitive", "group", "clone"):
            pairs = nv.pairs_named(owner, nv.META, ADMIN_META)
            if pairs:
                kept[owner.get("id")] = pairs
    return kept


def _restore_admin_meta(resources: ET.Element, kept: dict[str, list[ET.Element]]) -> None:
    for owner in resources.iter():
        pairs = kept.get(owner.get("id") or "")
        if pairs and owner.tag in ("primitive", "group", "clone"):
            nv.add_missing_nvpairs(nv.first_nvset(owner, nv.META, nv.set_id_of(owner.get("id"), nv.META)), pairs)


def merge_cib(live_xml: str, rendered_xml: str) -> str:
    live = ET.fromstring(live_xml)
    rendered = ET.fromstring(rendered_xml)
    live_config, new_config = live.find("configuration"), rendered.find("configuration")
    for tag in MERGED_BY_NAME:
        nv.merge_nvsets(_section(live_config, tag), new_config.find(tag))

    kept_meta = _admin_meta(_section(live_config, "resources"))
    for tag in OWNED_SECTIONS:
        old, new = live_config.find(tag), new_config.find(tag)
        if new is not None:
            _replace_in_place(live_config, old, new)
        elif old is not None:
            live_config.remove(old)
    _restore_admin_meta(_section(live_config, "resources"), kept_meta)

    constraints = _section(live_config, "constraints")
    admin_constraints = [c for c in constraints if (c.get("id") or "").startswith("cli-")]
    constraints.clear()
    constraints.extend(list(new_config.find("constraints")) + admin_constraints)
    return ET.tostring(live, encoding="unicode") + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as live_file, open(sys.argv[2]) as rendered_file:
        sys.stdout.write(merge_cib(live_file.read(), rendered_file.read()))
