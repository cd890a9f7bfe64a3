#!/usr/bin/env bash
# The LUNs' mount points, on both nodes; then each LUN's filesystem, created once and labelled, by the one node
# whose turn it is (filesystems-create.sh: the primary before the cluster exists, the node running the group
# after). Nothing goes in fstab: only pacemaker mounts the LUNs.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${directories[@]-}"

for dir in "${directories[@]}"; do
  # Only a missing one: an existing mount point may have a filesystem mounted with its own mode.
  [ -d "$dir" ] || install -d -m 0755 "$dir"
done
# shellcheck source=filesystems-create.sh
source "${BASH_SOURCE[0]%/*}/filesystems-create.sh"
