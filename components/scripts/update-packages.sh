#!/usr/bin/env bash
# Update step 2, on both nodes in parallel: pin BlueMind to the stack's version (the apt source is the
# bluemind-apt-source step's, kept current on every run), apt-get update, then upgrade BlueMind's packages
# only (bluemind-full and the bm-* / bluemind-* packages installed here, with what they need): never a
# dist-upgrade, and the cluster stack stays held, so corosync and pacemaker are never restarted by an
# update (upgrading the OS or the cluster stack is the os_upgrade runbook). Verify the installed version,
# keep every cluster-managed unit disabled at boot. On the node without the VIP, package scripts may not
# start services (the data LUNs are not mounted there), and any that run anyway are stopped.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=update-common.sh
source "${BASH_SOURCE[0]%/*}/update-common.sh"
: "${node:?}" "${apt_source_path:?}" "${apt_pin_path:?}" "${apt_pin:?}" "${policy_rc:?}"
: "${cluster_units[@]-}" "${held[@]-}" "${bluemind_target:?}"
exit_if_release_in_place
refuse_downgrade

require_maintenance
export DEBIAN_FRONTEND=noninteractive
printf '%s' "$apt_pin" | install_stdin "$apt_pin_path" 0644 >/dev/null
active=no
holds_vip && active=yes
if [ "$active" = no ]; then
  if foreign_policy_rc "$policy_rc"; then
    fail "$policy_rc exists and is not ours" "review it; remove it if it is stale, then run pulumi up again (it re-runs this step)"
  fi
  block_service_starts "$policy_rc" "no service starts on the passive node during an update"
fi
apt-get update -qq || fail "apt-get update failed on $node" "check $apt_source_path and the network, then run pulumi up again (it re-runs this step)"
apt-mark hold "${held[@]}" >/dev/null
mapfile -t bluemind_packages < <(dpkg-query -W -f '${db:Status-Abbrev} ${binary:Package}\n' 'bm-*' 'bluemind-*' \
  2>/dev/null | awk '$1 == "ii" {print $2}')
[ "${#bluemind_packages[@]}" -gt 0 ] || fail "no BlueMind package is installed on $node" \
  "install BlueMind first (the bluemind-packages step), then run pulumi up again (it re-runs this step)"
# bluemind.target is masked (the cluster-agents step: bmctl must not restart what pacemaker manages), but
# BlueMind's package scripts may enable or start it and fail on a mask: unmasked for the upgrade only, masked
# again whatever happens. It wants no cluster-managed unit (they are all disabled), so starting it starts
# none of them.
systemctl unmask --quiet "$bluemind_target"
cleanup_push systemctl mask --quiet "$bluemind_target"
apt-get install -y -qq --only-upgrade -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${bluemind_packages[@]}" \
  || fail "the upgrade failed on $node" "run 'dpkg --configure -a' and 'apt-get -f install' there, then run pulumi up again (it re-runs this step)"
installed=$(dpkg-query -W -f '${Version}' bluemind-full 2>/dev/null || true)
case "$installed" in
  "$version"*) ;;
  *) fail "bluemind-full is '$installed' on $node, not $version" \
       "check that $version is in the repository ($apt_source_path), then run pulumi up again (it re-runs this step)" ;;
esac
for unit in "${cluster_units[@]}"; do
  systemctl disable --quiet "$unit" 2>/dev/null || true
  if [ "$active" = no ]; then
    systemctl stop "$unit" 2>/dev/null || true
  fi
done
echo "$node: BlueMind $installed installed; cluster-managed services disabled at boot (VIP here: $active)."
echo "Next, once both nodes are done: the post-install step."
