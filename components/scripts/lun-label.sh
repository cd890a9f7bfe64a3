# shellcheck shell=bash
# Part of the filesystems steps: the Filesystem resources mount /dev/disk/by-label/<label>, never a LUN number,
# so a LUN renumbered on the SAN cannot mount another directory's data. This checks, on this node, that the
# label leads to the expected LUN and to nothing else.

: "${mount_by_label:?}"  # true: the Filesystem resources mount /dev/disk/by-label (false: storage.multipath's maps)

# refresh_lun DEVICE: read the LUN afresh: the peer may have written its filesystem (mkfs, a new label) since
# this node last read it, and udev (by-label) only probes a device again on an event. A LUN mounted here is
# this node's own to write: its buffers are left alone.
refresh_lun() {
  [ -n "$(findmnt -n -o TARGET --source "$1" 2>/dev/null)" ] || blockdev --flushbufs "$1"
  udevadm trigger --action=change --settle "$1"
}

# drop_map_paths: the devices read on stdin, less those that are one path of a device-mapper map (with
# storage.multipath each LUN shows as its map and as one disk per path: the paths are never mounted).
drop_map_paths() {
  local dev
  while read -r dev; do
    [ -n "$(ls -A "/sys/class/block/${dev##*/}/holders" 2>/dev/null)" ] || echo "$dev"
  done
}

# check_lun_label DEVICE LABEL DIRECTORY: exactly one device carries LABEL, it is DEVICE (the LUN the stack
# gives DIRECTORY), and /dev/disk/by-label/LABEL leads to it. Exits with what is wrong, changing nothing.
check_lun_label() {
  local dev=$1 label=$2 dir=$3 found holders lun by_label
  refresh_lun "$dev"
  found=$(blkid -p -s LABEL -o value "$dev") || true
  if [ "$found" != "$label" ]; then
    fail "$dev (the LUN of $dir) carries the label '${found:-none}', not '$label'; nothing mounts it until it does" \
      "run pulumi up: the filesystems step on the node running the group sets it"
  fi
  lun=$(readlink -f "$dev")
  # -c /dev/null: probe every device now, never blkid's cache.
  holders=$(blkid -c /dev/null -t "LABEL=$label" -o device | sort -u | drop_map_paths) || true
  if [ "$(grep -c . <<<"$holders")" != 1 ] || [ "$(readlink -f "$holders")" != "$lun" ]; then
    fail "the label $label is on ${holders//$'\n'/ and }, the LUN of $dir is $lun: a mount by label could take another disk" \
      "relabel the other device (e2label or xfs_admin -L), then run pulumi up again"
  fi
  by_label=/dev/disk/by-label/$label
  if [ "$mount_by_label" = true ] && [ "$(readlink -f "$by_label")" != "$lun" ]; then
    fail "$by_label does not lead to $lun (the LUN of $dir): udev has not seen the label" \
      "udevadm trigger --action=change $dev, then run pulumi up again"
  fi
  echo "$dir: label $label is on its LUN ($dev), and only there"
}
