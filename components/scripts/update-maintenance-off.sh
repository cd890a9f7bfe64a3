#!/usr/bin/env bash
# Update step 4, once: re-probe the group's members (crm_resource --refresh --resource GROUP: what the
# package scripts changed, and no fail count left from the update), refuse unless the probes found the whole
# group on exactly one node, then close the update window (the group's maintenance meta attribute) and wait
# for the cluster to settle.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=update-common.sh
source "${BASH_SOURCE[0]%/*}/update-common.sh"
: "${members[@]-}" "${settle_timeout_s:?}"
exit_if_release_in_place

if ! group_in_maintenance; then
  echo "the group $group is not in maintenance; nothing to do. Next: the cluster check."
  exit 0
fi
# While the group is in maintenance, pacemaker still runs probes: what it finds is what it will manage
# afterwards.
crm_resource --refresh --resource "$group" >/dev/null
crm_resource --wait --timeout="${settle_timeout_s}s" \
  || fail "the re-probe did not settle" "look at crm_mon -1, then run pulumi up again (it re-runs this step)"
nodes=""
for member in "${members[@]}"; do
  found=$(crm_resource --locate --resource "$member" --quiet 2>/dev/null | sort -u || true)
  case "$(printf '%s\n' "$found" | grep -c .)" in
    1) ;;
    0) fail "$member runs on no node" "start it by hand on the node holding the VIP, or find why it stopped, then run pulumi up again (it re-runs this step)" ;;
    *) fail "$member runs on more than one node: ${found//$'\n'/ }" "stop it on the node without the VIP, then run pulumi up again (it re-runs this step)" ;;
  esac
  nodes=$(printf '%s\n%s\n' "$nodes" "$found" | grep . | sort -u)
done
if [ "$(printf '%s\n' "$nodes" | grep -c .)" -ne 1 ]; then
  fail "the group $group is split across nodes: ${nodes//$'\n'/ }" "stop the members on the node without the VIP, then run pulumi up again (it re-runs this step)"
fi
crm_resource --resource "$group" --meta --delete-parameter maintenance >/dev/null
crm_resource --wait --timeout="${settle_timeout_s}s" || echo "the cluster has not settled yet; the cluster check tells more." >&2
echo "group $group: maintenance off: pacemaker manages BlueMind again, on $nodes. Next: the cluster check."
