#!/usr/bin/env bash
# Before anything changes on this node: what the deployment needs from it and its network. Every problem
# is listed, then the step fails: a node that cannot run the cluster is never half-configured.
# (Its BMC is checked by fence-preflight, once ipmitool is installed; corosync's own ports once corosync runs.)
# With a storage network (storage_ip set), the route to the portal must leave from the node's storage address:
# open-iscsi's software transport connects from whatever address the route gives, and the host firewall lets
# iSCSI out from the storage address only.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${os_release:?}" "${portal_ip:?}" "${portal_port:?}" "${ssh_port:?}" "${timeout_s:?}"
: "${peer_addresses[@]:?}" "${storage_ip?}"

problems=()
os=$(awk -F= '$1 == "ID" { id = $2 } $1 == "VERSION_ID" { v = $2 } END { gsub(/"/, "", id); gsub(/"/, "", v); print id "-" v }' \
  "$os_release" 2>/dev/null || true)
[ "$os" = debian-12 ] || problems+=("the OS is '${os#-}', not Debian 12 (bookworm)")
if ! command -v timedatectl >/dev/null; then
  problems+=("no timedatectl: install and enable a time sync (systemd-timesyncd or chrony)")
elif [ "$(timedatectl show -p NTPSynchronized --value 2>/dev/null)" != yes ]; then
  problems+=("the clock is not synchronized (timedatectl: NTPSynchronized=no): enable systemd-timesyncd or chrony")
fi
# An address and a port from the settings' grammars: nothing for the inner shell to interpret.
answers() { timeout "$timeout_s" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
for address in "${peer_addresses[@]}"; do
  answers "$address" "$ssh_port" || problems+=("the peer does not answer on $address:$ssh_port (lsyncd's SSH; a route or firewall?)")
done
answers "$portal_ip" "$portal_port" || problems+=("the iSCSI portal $portal_ip:$portal_port does not answer (a route or firewall?)")
if [ -n "$storage_ip" ]; then
  source_ip=$(ip -o route get "$portal_ip" 2>/dev/null |
    awk '{ for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1) }' || true)
  [ "$source_ip" = "$storage_ip" ] ||
    problems+=("the iSCSI portal $portal_ip is reached from ${source_ip:-no address}, not from the storage address $storage_ip (nodes[].storage_ip): configure it on the storage network's interface")
fi

if ((${#problems[@]})); then
  echo "pre-flight on $node found, before changing anything there:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  fail "pre-flight on $node (the problems above); nothing was changed on it" \
    "fix these (README, Deploy to production, step 1), then run pulumi up again"
fi
echo "pre-flight OK on $node: Debian 12, clock synchronized, peer and portal reachable"
