"""The scripts that set up the real-time configuration sync on each node (lsyncd over SSH with a dedicated
key; the lsyncd configuration itself is components/render/lsyncd.py). Pure: Settings in, bash out."""
from __future__ import annotations

from components.names import LSYNCD_CONF, LSYNCD_UNIT, SYNC_KEY, SYNC_KNOWN_HOSTS, SYNC_RSYNCD_CONF
from components.render.lsyncd import SYNC_SERVER_COMMAND, render_lsyncd_unit, render_rsyncd_conf
from components.render.shell import Text, render
from components.settings import Node, Settings


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


def sync_config(s: Settings, node: Node) -> str:
    """stdin: this node's lsyncd configuration. The unit is installed but never enabled: lsyncd is a member
    of the cluster group, so only the active node runs it and the sync always flows active -> passive."""
    return render("sync-config.sh", f"{node.name}: lsyncd configuration",
                  {"lsyncd_conf": LSYNCD_CONF, "lsyncd_unit_path": LSYNCD_UNIT,
                   "lsyncd_unit": Text(render_lsyncd_unit(), "UNIT")})
