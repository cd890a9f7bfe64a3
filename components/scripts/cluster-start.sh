#!/usr/bin/env bash
# Start corosync and pacemaker by hand (they are not enabled at boot) and wait, bounded, until both nodes
# are corosync members AND pacemaker has a DC that sees both nodes online. corosync membership alone comes
# seconds before the DC has joined the nodes: until then the CIB's status shows them UNCLEAN, and the CIB
# push's crm_verify fails on the warnings (exit 78; found by a run on namespace hosts).
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}"

systemctl start corosync.service pacemaker.service
both_online() {
  local status
  status=$(crm_mon -1 --output-as=xml 2>/dev/null) || return 1
  grep -q '<current_dc present="true"' <<<"$status" || return 1
  [ "$(grep -o '<node [^>]*online="true"' <<<"$status" | wc -l)" = 2 ]
}
for _ in $(seq 1 120); do
  if crm_node -l 2>/dev/null | grep -c ' member' | grep -qx 2 && both_online; then
    crm_node -l
    exit 0
  fi
  sleep 2
done
fail "$node: the cluster did not reach two members online with a DC in 240 s" \
  "on both nodes: corosync-cfgtool -s (each link), crm_mon -1 and journalctl -u corosync -u pacemaker -b;" \
  "fix the link or the node that is missing, then run pulumi up again"
