#!/usr/bin/env bash
# Check the host's name, then install the cluster stack. An existing host is never renamed silently: corosync,
# pacemaker, the iSCSI initiator name and whatever else runs there know it by its name, so a host named
# otherwise than its node is refused, before anything changes, unless the stack asks for the rename
# (nodes[].rename_host). corosync and pacemaker never start at boot: a fenced node that reboots stays out of the
# cluster until an admin has looked at it (no fence loops). Debian starts corosync with its example
# configuration when the package is installed: that one is stopped, never a cluster this program configured
# (its corosync.conf carries rendered_mark), so a re-run on a live cluster takes nothing down.
# A re-run never upgrades either: missing packages are installed with --no-upgrade, and the cluster stack is
# held (apt-mark hold), since an upgraded corosync's postinst restarts corosync and pacemaker. Upgrading the
# OS or the cluster stack is the os_upgrade runbook, one node at a time, in standby.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${node_key:?}" "${stack:?}" "${rename_host:?}" "${rendered_mark:?}" "${packages[@]-}" "${held[@]-}"

current=$(uname -n)
if [ "$current" != "$node" ]; then
  if [ "$rename_host" != true ]; then
    what="this host is named '$current', but the stack calls it '$node' ($node_key.name). bluemind-ha does not"
    what+=" rename an existing host silently. Nothing was changed."
    refuse "$what" \
      "either, if this is the right host and its name is right: set $node_key.name to \"$current\" in" \
      "stacks/Pulumi.$stack.yaml, then run pulumi up; or, to rename it to '$node': add 'rename_host: true' to" \
      "$node_key in stacks/Pulumi.$stack.yaml, run pulumi up, then remove it. If it is not the host you meant," \
      "check $node_key.ip and $node_key.ssh_host_key, then run pulumi up"
  fi
  hostnamectl set-hostname "$node"
  echo "$node: renamed this host from '$current' to '$node' ($node_key.rename_host)"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends --no-upgrade "${packages[@]}"
apt-mark hold "${held[@]}" >/dev/null
systemctl disable --quiet corosync.service pacemaker.service
if ! grep -qsF "$rendered_mark" /etc/corosync/corosync.conf; then
  systemctl stop pacemaker.service corosync.service
fi
systemctl enable --now iscsid.service
