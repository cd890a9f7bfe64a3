#!/usr/bin/env bash
# Update step 1, on either node: refuse a downgrade the stack does not allow (before anything changes), then
# open the update window, the BlueMind group's own maintenance (its meta attribute maintenance=true, inherited
# by every member), and verify it took. Pacemaker then neither starts, stops nor monitors BlueMind's
# resources, but the fence devices and the membership stay managed: a node lost during the update is still
# fenced. Never the cluster-wide maintenance-mode, which disarms fencing.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=update-common.sh
source "${BASH_SOURCE[0]%/*}/update-common.sh"
: "${nodes[@]-}"
exit_if_release_in_place
refuse_downgrade

crm_resource --resource "$group" --meta --set-parameter maintenance --parameter-value true >/dev/null
group_in_maintenance || fail "the group's maintenance did not read back as true" \
  "check the cluster with crm_mon -1, then run pulumi up again (it re-runs this step)"
echo "group $group: maintenance=true: pacemaker neither starts, stops nor monitors BlueMind; the services keep running."
if cluster_in_maintenance; then
  echo "WARNING: the cluster-wide maintenance-mode is on (an admin's): fencing is off until it is removed" \
       "(crm_attribute --type crm_config --name maintenance-mode --delete)." >&2
else
  echo "Fencing stays armed: a node lost during the update is powered off by its fence device."
fi
echo "Next: the package update on both nodes (${nodes[0]}, ${nodes[1]})."
