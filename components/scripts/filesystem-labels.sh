#!/usr/bin/env bash
# On both nodes, once both filesystems steps ran (either node may have created or labelled a LUN): each LUN's
# label leads to that LUN and to nothing else, and udev knows it (/dev/disk/by-label), so a failover mounts the
# right data. devices, labels and directories in the same order.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=lun-label.sh
source "${BASH_SOURCE[0]%/*}/lun-label.sh"
: "${devices[@]-}" "${labels[@]-}" "${directories[@]-}"

for i in "${!devices[@]}"; do
  check_lun_label "${devices[i]}" "${labels[i]}" "${directories[i]}"
done
