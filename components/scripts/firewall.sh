#!/usr/bin/env bash
# The host firewall. stdin: the node's ruleset (table inet $table only: an admin's own tables are untouched).
# Checked with `nft -c`, loaded, then kept only if the SSH client this step runs for (the machine running
# pulumi) may still connect: otherwise the previous rules are put back and the step fails, naming
# firewall.admin_networks. Persisted for boots by a unit of its own.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${table:?}" "${rules_path:?}" "${unit:?}" "${unit_path:?}" "${unit_text:?}" "${peer_ip:?}"
: "${admin_networks:?}"

# The address the SSH session running this script comes from: SSH_CONNECTION, which sudo drops, else the
# peer of the SSH connection an ancestor process holds. Empty when not run over SSH.
ssh_client() {
  local pid=$$ conns line address=${SSH_CONNECTION:-}
  if [ -n "$address" ]; then
    address=${address%% *}
    echo "${address#::ffff:}"
    return 0
  fi
  conns=$(ss -Htnp state established '( sport = :22 )') || return 0
  while [ "${pid:-1}" -gt 1 ]; do
    line=$(grep -F "pid=$pid," <<<"$conns" | head -n 1) || true
    if [ -n "$line" ]; then
      awk '{print $4}' <<<"$line" | sed -e 's/:[0-9]*$//' -e 's/^\[//' -e 's/\]$//' -e 's/^::ffff://'
      return 0
    fi
    pid=$(ps -o ppid= -p "$pid" | tr -d ' ')
  done
}

if ! command -v nft >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nftables
fi
install -d -m 0755 "${rules_path%/*}"
receive_stdin "$rules_path.XXXXXX"
new=$REPLY
nft -c -f "$new"
client=$(ssh_client)
nft -f "$new"
if [ -n "$client" ] && [ "$client" != "$peer_ip" ] &&
  ! nft get element inet "$table" admin_networks "{ $client }" >/dev/null 2>&1; then
  if [ -f "$rules_path" ]; then nft -f "$rules_path"; else nft delete table inet "$table"; fi
  fail "$node: this step runs over SSH from $client, which firewall.admin_networks does not hold: the next step could not connect. The previous rules are back." \
    "add $client's network to bluemind-ha:firewall.admin_networks in stacks/Pulumi.<stack>.yaml, then run pulumi up again"
fi
[ -n "$client" ] || echo "$node: not run over SSH: no SSH client to keep reachable"
install_stdin "$rules_path" 0600 <"$new"
printf '%s' "$unit_text" | install_stdin "$unit_path" 0644
systemctl daemon-reload
systemctl enable --quiet "$unit"
echo "$node: table inet $table loaded; admin networks: $admin_networks"
