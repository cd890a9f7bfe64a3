#!/usr/bin/env bash
# Update step 5, once: pass only if neither the group nor the cluster is in maintenance, every group member runs on one and the same
# node, and pacemaker lists no failed action; then record the release as the cluster's, which completes
# the update. Prints crm_mon's view either way.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=update-common.sh
source "${BASH_SOURCE[0]%/*}/update-common.sh"
: "${members[@]-}"
exit_if_release_in_place

crm_mon -1 --show-detail || true
problems=0
if group_in_maintenance; then
  echo "PROBLEM: the group $group is in maintenance: pacemaker neither monitors nor recovers it." >&2
  problems=1
fi
if cluster_in_maintenance; then
  echo "PROBLEM: the cluster is in maintenance mode: nothing is fenced, nothing fails over." >&2
  problems=1
fi
nodes=""
for member in "${members[@]}"; do
  found=$(crm_resource --locate --resource "$member" --quiet 2>/dev/null | sort -u || true)
  if [ "$(printf '%s\n' "$found" | grep -c .)" -ne 1 ]; then
    echo "PROBLEM: $member runs on: ${found:-no node}" >&2
    problems=1
  fi
  nodes=$(printf '%s\n%s\n' "$nodes" "$found" | grep . | sort -u || true)
done
if [ "$(printf '%s\n' "$nodes" | grep -c .)" -ne 1 ]; then
  echo "PROBLEM: the group $group is not on exactly one node: ${nodes//$'\n'/ }" >&2
  problems=1
fi
failures=$(crm_mon -1 --output-as=xml | grep -c '<failure ' || true)
if [ "$failures" -ne 0 ]; then
  echo "PROBLEM: $failures failed action(s); after fixing the cause: crm_resource --cleanup" >&2
  problems=1
fi
if [ "$problems" -ne 0 ]; then
  fail "the cluster check found the problems above; the release is not recorded" \
    "fix them (crm_mon -1 -r -f shows the cluster; README, Troubleshooting), then run pulumi up again"
fi
"${release_attribute[@]}" --update "$release"
echo "OK: the group $group runs complete on $nodes, no failed actions; the cluster runs release $release."
