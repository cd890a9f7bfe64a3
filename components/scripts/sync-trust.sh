#!/usr/bin/env bash
# Trust the peer's lsyncd key. stdin: the peer's sync public key, then its SSH host key (the peer's sync-key
# output). The peer may log in from its own address only, and only to push into the synced roots (an rsync
# daemon on rsyncd_conf: write-only, chrooted, the allow-list as its filter); its host key is pinned for the
# day this node is active and pushes to it. Anything but two ed25519 public keys fails the
# step, naming the peer, before a file is touched.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${peer:?}" "${peer_ip:?}" "${sync_server_command:?}" "${known_hosts:?}"
: "${rsyncd_conf_path:?}" "${rsyncd_conf:?}"

# The last line may come without its newline: `read` still fills the variable, and the checks below
# refuse what is missing or empty.
read -r sync_key || true
read -r host_key || true
# A bare key that ssh-keygen reads: no authorized_keys options, no error message, not nothing.
public_key='^ssh-ed25519 [A-Za-z0-9+/]+=*( [^[:cntrl:]]*)?$'
is_public_key() { [[ $1 =~ $public_key ]] && ssh-keygen -l -f - <<<"$1" >/dev/null 2>&1; }
refuse_line() {
  fail "$node: line $1 of $peer's sync-key output is not $2: '$3'" \
    "on $peer: cat /root/.ssh/bluemind-ha-sync.pub /etc/ssh/ssh_host_ed25519_key.pub (its sync-key step prints" \
    "them); if $peer was reinstalled, raise its nodes[].generation; then run pulumi up again"
}
# The comment is how a re-run finds and replaces the peer's entry: without it, entries would pile up.
if ! is_public_key "$sync_key" || [[ $sync_key != *" bluemind-ha-sync@$peer" ]]; then
  refuse_line 1 "its lsyncd key (ssh-ed25519, comment bluemind-ha-sync@$peer)" "$sync_key"
fi
if ! is_public_key "$host_key"; then
  refuse_line 2 "its SSH host key (ssh-ed25519)" "$host_key"
fi
install -d -m 0755 "${rsyncd_conf_path%/*}"
printf '%s' "$rsyncd_conf" | install_stdin "$rsyncd_conf_path" 0644 >/dev/null
install -d -m 0700 /root/.ssh
[ -f /root/.ssh/authorized_keys ] || : >/root/.ssh/authorized_keys
entry="restrict,from=\"$peer_ip\",command=\"$sync_server_command\" $sync_key"
{ grep -vF "bluemind-ha-sync@$peer" /root/.ssh/authorized_keys || true; echo "$entry"; } \
  | install_stdin /root/.ssh/authorized_keys 0600
echo "$peer_ip $host_key" | install_stdin "$known_hosts" 0600
