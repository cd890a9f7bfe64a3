#!/usr/bin/env bash
# Update step 3, on every node: only the node holding the VIP at run time runs BlueMind's post-installation
# configuration (`bm-cli setup upgrade`; rc 3 with "Upgrade Complete: Success" is a success); the other
# says it skipped.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=update-common.sh
source "${BASH_SOURCE[0]%/*}/update-common.sh"
: "${node:?}"
exit_if_release_in_place

require_maintenance
if ! holds_vip; then
  echo "$node: skipped: it does not hold the VIP; the post-installation runs on the node that does."
  exit 0
fi
rc=0
output=$(bm-cli setup upgrade 2>&1) || rc=$?
printf '%s\n' "$output"
if [ "$rc" -eq 0 ] || { [ "$rc" -eq 3 ] && grep -qF "Upgrade Complete: Success" <<<"$output"; }; then
  echo "$node: post-installation done (bm-cli rc $rc)."
  echo "Next: the maintenance-off step."
else
  fail "bm-cli setup upgrade returned $rc on $node" \
    "read the output above and /var/log/bm/*.log, fix the cause, then run pulumi up again (it re-runs this step)"
fi
