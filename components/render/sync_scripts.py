"""The scripts that set up the real-time configuration sync on each node (lsyncd over SSH with a dedicated
key; the lsyncd configuration itself is components/render/lsyncd.py). Pure: Settings in, bash out."""
from __future__ import annotations

from components.render.lsyncd import (CONFIG_PATH as LSYNCD_CONF, RRSYNC_COMMAND, SYNC_KEY, SYNC_KNOWN_HOSTS,
                                      render_lsyncd_unit)
from components.render.shell import script
from components.settings import Node, Settings


def sync_key(s: Settings, node: Node) -> str:
    """Create the node's dedicated sync key once; print its public key and the node's SSH host key, which
    the peer authorizes and pins (sync_trust)."""
    return script(f"{node.name}: lsyncd's SSH key", f"""
install -d -m 0700 /root/.ssh
[ -f {SYNC_KEY} ] || ssh-keygen -q -t ed25519 -N '' -C 'bluemind-ha-sync@{node.name}' -f {SYNC_KEY}
cat {SYNC_KEY}.pub
cat /etc/ssh/ssh_host_ed25519_key.pub
""")


def sync_trust(s: Settings, node: Node) -> str:
    """stdin: the peer's sync public key, then its SSH host key (the peer's sync-key output). The peer may
    log in from its own address only, and only to run rsync (rrsync); its host key is pinned for the day
    this node is active and pushes to it. Anything but two ed25519 public keys fails the step, naming the
    peer, before a file is touched."""
    peer = s.peer_of(node)
    return script(f"{node.name}: trust {peer.name}'s lsyncd key", f"""
# The last line may come without its newline: `read` still fills the variable, and the checks below
# refuse what is missing or empty.
read -r sync_key || true
read -r host_key || true
# A bare key that ssh-keygen reads: no authorized_keys options, no error message, not nothing.
public_key='^ssh-ed25519 [A-Za-z0-9+/]+=*( [^[:cntrl:]]*)?$'
is_public_key() {{ [[ $1 =~ $public_key ]] && ssh-keygen -l -f - <<<"$1" >/dev/null 2>&1; }}
refuse() {{
  echo "{node.name}: line $1 of {peer.name}'s sync-key output is not $2: '$3'" >&2
  exit 1
}}
# The comment is how a re-run finds and replaces the peer's entry: without it, entries would pile up.
if ! is_public_key "$sync_key" || [[ $sync_key != *" bluemind-ha-sync@{peer.name}" ]]; then
  refuse 1 "its lsyncd key (ssh-ed25519, comment bluemind-ha-sync@{peer.name})" "$sync_key"
fi
if ! is_public_key "$host_key"; then
  refuse 2 "its SSH host key (ssh-ed25519)" "$host_key"
fi
install -d -m 0700 /root/.ssh
[ -f /root/.ssh/authorized_keys ] || : >/root/.ssh/authorized_keys
entry="restrict,from=\\"{peer.ip}\\",command=\\"{RRSYNC_COMMAND}\\" $sync_key"
{{ grep -vF 'bluemind-ha-sync@{peer.name}' /root/.ssh/authorized_keys || true; echo "$entry"; }} \\
  | install_stdin /root/.ssh/authorized_keys 0600
echo "{peer.ip} $host_key" | install_stdin {SYNC_KNOWN_HOSTS} 0600
""")


def sync_config(s: Settings, node: Node) -> str:
    """stdin: this node's lsyncd configuration. The unit is installed but never enabled: lsyncd is a member
    of the cluster group, so only the active node runs it and the sync always flows active -> passive."""
    return script(f"{node.name}: lsyncd configuration", f"""
install -d -m 0755 /etc/lsyncd
install_stdin {LSYNCD_CONF} 0644
cat <<'UNIT' | install_stdin /etc/systemd/system/lsyncd.service 0644
{render_lsyncd_unit().rstrip()}
UNIT
systemctl daemon-reload
systemctl disable lsyncd.service 2>/dev/null || true
""")
