#!/usr/bin/env bash
# Install the cluster stack. corosync and pacemaker never start at boot: a fenced node that reboots stays
# out of the cluster until an admin has looked at it (no fence loops). Debian starts corosync with its
# example configuration when the package is installed: that one is stopped, never a cluster this program
# configured (its corosync.conf carries rendered_mark), so a re-run on a live cluster takes nothing down.
# A re-run never upgrades either: missing packages are installed with --no-upgrade, and the cluster stack is
# held (apt-mark hold), since an upgraded corosync's postinst restarts corosync and pacemaker. Upgrading the
# OS or the cluster stack is the os_upgrade runbook, one node at a time, in standby.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${rendered_mark:?}" "${packages[@]-}" "${held[@]-}"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends --no-upgrade "${packages[@]}"
apt-mark hold "${held[@]}" >/dev/null
systemctl disable --quiet corosync.service pacemaker.service
if ! grep -qsF "$rendered_mark" /etc/corosync/corosync.conf; then
  systemctl stop pacemaker.service corosync.service
fi
systemctl enable --now iscsid.service
hostnamectl set-hostname "$node"
