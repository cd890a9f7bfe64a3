# shellcheck shell=bash
# What every step of the update chain shares (sourced after lib.sh). The update window is the BlueMind
# group's own maintenance (its meta attribute maintenance=true): pacemaker neither starts, stops nor monitors
# the group's members, while the fence devices and the membership stay managed, so a node lost during the
# update is still fenced. Never the cluster-wide maintenance-mode, which disarms fencing and all recovery.
# The window is never closed here: a failure anywhere leaves the group in maintenance and says what to do.
: "${release:?}" "${version:?}" "${allow_downgrade:?}" "${stack:?}" "${release_attribute[@]-}" "${group:?}"
: "${vip_id:?}"

# Does the cluster run this release already (recorded by the last step of a completed update)?
release_in_place() {
  [ "$("${release_attribute[@]}" --query --quiet 2>/dev/null || true)" = "$release" ]
}

# exit_if_release_in_place: a step that runs again for that release (an edited script, a new SSH key) does
# nothing.
exit_if_release_in_place() {
  if release_in_place; then
    echo "BlueMind $version (release $release) is in place on this cluster: nothing to do."
    exit 0
  fi
}

# refuse_downgrade: stop before anything changes when the stack's version is lower than the release the
# cluster runs (dpkg's ordering), unless the stack allows a downgrade. The apt pin (priority 1001) would
# otherwise downgrade the packages, and apt never downgrades BlueMind's database.
refuse_downgrade() {
  local recorded running
  recorded=$("${release_attribute[@]}" --query --quiet 2>/dev/null || true)
  running=${recorded%%+*}
  [ -n "$running" ] || return 0
  dpkg --compare-versions "$version" lt "$running" || return 0
  if [ "$allow_downgrade" = true ]; then
    echo "DOWNGRADE of BlueMind from $running to $version: allowed by bluemind.allow_downgrade in stack $stack."
    return 0
  fi
  local what="a downgrade. bluemind.version $version is lower than $running, the release this cluster runs"
  what+=" (recorded in the CIB: ${release_attribute[*]} --query). apt would downgrade BlueMind's packages, never"
  what+=" its database. Nothing was changed on the cluster."
  refuse "$what" \
    "either keep the running release: set bluemind.version back to \"$running\" in stacks/Pulumi.$stack.yaml," \
    "then run pulumi up; or roll back on purpose: restore BlueMind's data first (SAN snapshot or BlueMind" \
    "backup), add 'allow_downgrade: true' under bluemind: in stacks/Pulumi.$stack.yaml, run pulumi up, then remove it"
}

# The group's update window: its maintenance meta attribute (inherited by every member).
group_in_maintenance() {
  [ "$(crm_resource --resource "$group" --meta --get-parameter maintenance --quiet 2>/dev/null || true)" = true ]
}

# The cluster-wide maintenance-mode, which the chain never sets: an admin's (fencing is off while it is on).
cluster_in_maintenance() {
  [ "$(crm_attribute --type crm_config --name maintenance-mode --query --quiet 2>/dev/null || true)" = true ]
}

# fail WHAT NEXT...: lib.sh's, saying also that the group's maintenance is left as it is.
fail() {
  local what=$1
  shift
  echo "FAILED: $what" >&2
  echo "The group $group stays in maintenance (meta maintenance=true): pacemaker neither starts, stops nor" \
       "monitors BlueMind; fencing stays armed, so a lost node is still powered off." >&2
  echo "Next: $*" >&2
  # shellcheck disable=SC2034 # read by lib.sh's exit handler
  next_said=1
  exit 1
}
# A command that fails under set -e: where, then the general Next (lib.sh's exit handler).
trap 'echo "FAILED at line $LINENO; the group $group stays in maintenance, fencing stays armed." >&2' ERR

require_maintenance() {
  group_in_maintenance || fail "the group $group is not in maintenance" \
    "run pulumi up again: the chain starts with its maintenance-on step (updating under a managing pacemaker" \
    "would trigger recovery or fencing)"
}

# holds_vip: does this node carry the floating IP right now? The address is read from the CIB, not
# written here, so a change of the VIP does not re-run the update chain.
holds_vip() {
  local vip
  vip=$(crm_resource --resource "$vip_id" --get-parameter ip --quiet) || fail "cannot read the VIP from the CIB" \
    "check the cluster with crm_mon -1 -r (is the VIP resource in the CIB?), then run pulumi up again"
  ip -o -4 addr show | awk '{print $4}' | cut -d/ -f1 | grep -qxF "$vip"
}
