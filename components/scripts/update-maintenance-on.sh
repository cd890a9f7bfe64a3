#!/usr/bin/env bash
# Update step 1, on either node: refuse a downgrade the stack does not allow (before anything changes), then
# put the whole cluster in maintenance mode and verify it took.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=update-common.sh
source "${BASH_SOURCE[0]%/*}/update-common.sh"
: "${nodes[@]-}"
exit_if_release_in_place
refuse_downgrade

crm_attribute --type crm_config --name maintenance-mode --update true
in_maintenance || fail "maintenance-mode did not read back as true" "check the cluster with crm_mon -1; re-run this step"
echo "maintenance-mode=true: pacemaker neither starts, stops nor monitors resources; the services keep running."
echo "Next: the package update on both nodes (${nodes[0]}, ${nodes[1]})."
