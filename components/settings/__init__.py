"""The one typed settings model of a bluemind-ha stack, parsed and validated before any resource exists.

`parse_settings` is pure: it takes the stack's configuration (key -> value, without the `bluemind-ha:`
namespace) and the set of keys Pulumi holds as secrets, and returns a frozen `Settings` or raises one
`SettingsError` that names the key and the fix, for every problem found (`.errors`). Secret *values* are never
read here: only whether each required secret is present and stored as a secret. The Pulumi shell reads the
values as `Output`s.

Modules: schema (every key, declared once), grammar (free-text grammars), reader (typed reading by the
schema), sections, nodes and storage (one parser per section), checks (across sections), model (the
dataclasses, enums and the failover policy).
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from components.settings import checks, sections
from components.settings import schema as sc
from components.settings.errors import NAMESPACE, Problems, SettingsError
from components.settings.model import (
    BlueMind,
    Bmc,
    ClusterOptions,
    FailoverMode,
    FailoverPolicy,
    Firewall,
    HostKind,
    Libvirt,
    Lun,
    Network,
    Node,
    ProbeKind,
    QDevice,
    Settings,
    Storage,
    StorageHost,
    StorageKind,
    Sync,
)
from components.settings.nodes import nodes as _nodes
from components.settings.nodes import pair_checks
from components.settings.qdevice import clashes as qdevice_clashes
from components.settings.sections import SEED_NO_NFS, SEED_NO_STONITH
from components.settings.storage import storage as _storage
from components.settings.storage_network import storage_network as _storage_network

__all__ = ["NAMESPACE", "SEED_NO_NFS", "SEED_NO_STONITH", "Bmc", "BlueMind", "ClusterOptions", "FailoverMode",
           "FailoverPolicy", "Firewall", "HostKind", "Libvirt", "Lun", "Network", "Node", "ProbeKind", "QDevice", "Settings", "SettingsError",
           "Storage", "StorageHost", "StorageKind", "Sync", "parse_settings", "required_secrets"]

required_secrets = checks.required_secrets


def _unknown_keys(p: Problems, config: Mapping[str, Any]) -> None:
    known = sorted(sc.top_level())
    for key in sorted(map(str, config)):
        if key in sc.RETIRED:
            p.add(key, sc.RETIRED[key], f"remove it: pulumi config rm {NAMESPACE}:{key}")
        elif key not in known and not key.startswith(sc.BMC_PASSWORD_PREFIX):
            close = difflib.get_close_matches(key, known, n=1)
            p.add(key, "is not a known setting", f"did you mean '{close[0]}'?" if close else "remove it")


def parse_settings(stack: str, config: Mapping[str, Any], secret_keys: set[str] | frozenset[str]) -> Settings:
    """Validate a whole stack's configuration into `Settings`, or raise a `SettingsError` with every problem."""
    p = Problems()
    _unknown_keys(p, config)
    bm = p.run(sections.bluemind, config, p)
    mode = p.run(sections.failover, config, p)
    network = p.run(sections.network, config, p)
    host_kind, libvirt = p.run(sections.hosts, config, p) or (None, None)
    storage = p.run(_storage, config, p, bm, host_kind)
    if storage is None and isinstance(config.get("storage"), Mapping):
        # The nodes' default IQN derives from the target's: read it alone so the nodes are still checked.
        iqn = config["storage"].get("target_iqn")
        storage_iqn = iqn if isinstance(iqn, str) and sc.key("storage.target_iqn").grammar.matches(iqn) else None
    else:
        storage_iqn = storage.target_iqn if storage else None
    nodes = p.run(_nodes, config, p, bm, host_kind, storage_iqn)
    cluster = p.run(sections.cluster, config, p, mode, host_kind)
    sync = p.run(sections.sync, config, p)
    firewall = p.run(sections.firewall, config, p, network)
    if nodes is not None:
        p.run(pair_checks, nodes, network)
        if mode is not None:
            p.run(checks.fencing, p, mode, nodes)
        if host_kind is not None:
            p.run(checks.names, p, host_kind, nodes, storage)
        if cluster is not None and cluster.qdevice is not None:
            p.run(qdevice_clashes, p, cluster.qdevice, host_kind, network, nodes, storage)
        if network is not None:
            p.run(checks.addresses, p, network, nodes, storage, libvirt)
            p.run(_storage_network, p, network, nodes, storage)
            if cluster is not None:
                p.run(checks.ping_targets, p, cluster.ping_targets, network, nodes)
        if storage is not None:
            for i, node in enumerate(nodes):
                if node.iqn == storage.target_iqn:
                    p.add(f"nodes[{i}].iqn", "is the target's IQN (storage.target_iqn)", "give the node its own IQN")
    p.run(checks.secrets, p, config, set(secret_keys))
    p.raise_if_any()
    return Settings(stack=stack, bluemind=bm, failover=mode, network=network, host_kind=host_kind, libvirt=libvirt,
                    nodes=nodes, storage=storage, cluster=cluster, sync=sync, firewall=firewall,
                    ssh_key_secret="ssh_private_key" if config.get("ssh_private_key") else None,
                    warnings=tuple(p.warnings))
