#!/usr/bin/env bash
# The LUNs' mount points, on both nodes; on the primary node, before pacemaker runs, each LUN's filesystem,
# created once (filesystems-create.sh). Nothing goes in fstab: only pacemaker mounts the LUNs.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${directories[@]-}"

for dir in "${directories[@]}"; do
  # Only a missing one: an existing mount point may have a filesystem mounted with its own mode.
  [ -d "$dir" ] || install -d -m 0755 "$dir"
done
# On the primary only: the rendered script of the other node leaves this part out.
# shellcheck source=filesystems-create.sh
source "${BASH_SOURCE[0]%/*}/filesystems-create.sh"
