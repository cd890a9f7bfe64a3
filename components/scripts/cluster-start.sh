#!/usr/bin/env bash
# Start corosync and pacemaker by hand (they are not enabled at boot) and wait until both nodes are
# members, bounded.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}"

systemctl start corosync.service pacemaker.service
for _ in $(seq 1 120); do
  if crm_node -l 2>/dev/null | grep -c ' member' | grep -qx 2; then
    crm_node -l
    exit 0
  fi
  sleep 2
done
echo "$node: the cluster did not reach two members in 240 s; see corosync-cfgtool -s and journalctl -u corosync" >&2
exit 1
