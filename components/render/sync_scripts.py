"""The scripts that set up the real-time configuration sync on each node (lsyncd over SSH with a dedicated
key; the lsyncd configuration itself is components/render/lsyncd.py). Pure: Settings in, bash out."""
from __future__ import annotations

import posixpath

from components.names import (
    LSYNCD_CONF,
    LSYNCD_UNIT,
    SYNC_BACKUP_DIR,
    SYNC_GUARD,
    SYNC_GUARD_REPORT,
    SYNC_KEY,
    SYNC_KNOWN_HOSTS,
    SYNC_RSYNCD_CONF,
    SYNC_STAMP,
)
from components.render.lsyncd import SYNC_SERVER_COMMAND, render_lsyncd_unit, render_rsyncd_conf, ssh_command
from components.render.shell import Text, render
from components.services import LSYNCD
from components.settings import Node, Settings
from components.sync_paths import sync_roots

# Seconds the start-up guard may spend comparing with the peer, inside lsyncd's start timeout (the CIB's,
# which the unit's drop-in also gives systemd): past it, the peer counts as unreachable and lsyncd starts.
GUARD_BUDGET_S = LSYNCD.start_timeout_s // 2


def sync_key(s: Settings, node: Node) -> str:
    """Create the node's dedicated sync key once; print its public key and the node's SSH host key, which
    the peer authorizes and pins (sync_trust)."""
    return render("sync-key.sh", f"{node.name}: lsyncd's SSH key", {"node": node.name, "sync_key": SYNC_KEY})


def sync_trust(s: Settings, node: Node) -> str:
    """stdin: the peer's sync public key, then its SSH host key (the peer's sync-key output). The peer may
    log in from its own address only, and only to push into the synced roots (an rsync daemon on
    render_rsyncd_conf); its host key is pinned."""
    peer = s.peer_of(node)
    return render("sync-trust.sh", f"{node.name}: trust {peer.name}'s lsyncd key", {
        "node": node.name, "peer": peer.name, "peer_ip": peer.ip, "sync_server_command": SYNC_SERVER_COMMAND,
        "rsyncd_conf_path": SYNC_RSYNCD_CONF, "rsyncd_conf": Text(render_rsyncd_conf(s), "RSYNCD"),
        "known_hosts": SYNC_KNOWN_HOSTS})


def sync_guard(s: Settings, node: Node, source_prefix: str = "", report: str = SYNC_GUARD_REPORT) -> str:
    """The program SYNC_GUARD of `node` (components/scripts/sync-guard.sh): `check` compares the synced roots
    with the peer's before lsyncd starts, `push` sends this node's version to the peer. Roots are read from
    `source_prefix + root` (a test's tree; "" on a node), the verdict written to `report` too."""
    peer = s.peer_of(node)
    roots = sync_roots(s)
    stamp_root = next(r for r in roots if SYNC_STAMP.startswith(r.directory.rstrip("/") + "/"))
    # The stamp's root first: a first sync is known from it alone.
    ordered = [stamp_root, *(r for r in roots if r != stamp_root)]
    return render("sync-guard.sh", f"{SYNC_GUARD}: lsyncd's start-up guard on {node.name}", {
        "node": node.name, "peer": peer.name, "peer_ip": peer.ip, "rsh": ssh_command(),
        "source_prefix": source_prefix, "modules": [r.module for r in ordered],
        "root_dirs": {r.module: r.directory for r in ordered},
        "root_rules": {r.module: "\n".join(r.sender_rules) for r in ordered},
        "stamp_module": stamp_root.module, "stamp_name": posixpath.relpath(SYNC_STAMP, stamp_root.directory),
        "backup_dir": SYNC_BACKUP_DIR, "report": report, "lsyncd_resource": LSYNCD.rsc_id,
        "command_path": SYNC_GUARD, "compare_budget_s": GUARD_BUDGET_S})


def sync_config(s: Settings, node: Node) -> str:
    """stdin: this node's lsyncd configuration. The unit is installed but never enabled: lsyncd is a member
    of the cluster group, so only the active node runs it and the sync always flows active -> passive. Its
    start-up guard (sync_guard) is installed with it."""
    return render("sync-config.sh", f"{node.name}: lsyncd configuration",
                  {"lsyncd_conf": LSYNCD_CONF, "lsyncd_unit_path": LSYNCD_UNIT,
                   "lsyncd_unit": Text(render_lsyncd_unit(), "UNIT"),
                   "guard_path": SYNC_GUARD, "guard": Text(sync_guard(s, node), "GUARD")})
