#!/usr/bin/env bash
# Install BlueMind once, with every service it brings disabled at boot (only pacemaker starts them, on the
# active node); later versions arrive through the update chain, the group in maintenance. Once BlueMind is
# installed, a re-run only keeps the cluster-managed units disabled at boot: it installs, pins and stops
# nothing, since pacemaker may be running them on this node.
# stdin: the apt pin of the BlueMind version to install first (the apt source is the bluemind-apt-source
# step's).
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${apt_pin_path:?}" "${policy_rc:?}" "${cluster_units[@]-}"

export DEBIAN_FRONTEND=noninteractive
if dpkg-query -W -f '${Status}' bluemind-full 2>/dev/null | grep -q ' installed$'; then
  for unit in "${cluster_units[@]}"; do
    systemctl disable --quiet "$unit" 2>/dev/null || true
  done
  echo "$node: BlueMind $(dpkg-query -W -f '${Version}' bluemind-full) is installed; new versions come through the update chain."
  exit 0
fi
install_stdin "$apt_pin_path" 0644 >/dev/null
# Package scripts must not start services here: pacemaker owns them, and the data LUNs are not mounted.
if foreign_policy_rc "$policy_rc"; then
  fail "$policy_rc exists on $node and is not bluemind-ha's" \
    "review it there (cat $policy_rc); remove it if it is stale (rm $policy_rc), then run pulumi up again"
fi
block_service_starts "$policy_rc" "no service starts while BlueMind is first installed"
apt-get update -qq
apt-get install -y -qq bluemind-full
for unit in "${cluster_units[@]}"; do
  systemctl disable --quiet "$unit" 2>/dev/null || true
  systemctl stop "$unit" 2>/dev/null || true
done
