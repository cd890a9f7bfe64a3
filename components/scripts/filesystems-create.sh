# shellcheck shell=bash
# Part of filesystems.sh, on both nodes: each LUN's filesystem created once and labelled (the Filesystem
# resources mount it by label), by ONE node: the primary on a first install, the node running the group on a
# live cluster (its directory holds the data; the group's node is never in doubt while pacemaker answers).
# Never mkfs a device that already holds a filesystem. A fresh filesystem is seeded with what is in its
# directory: on a first install what the packages put there; on a live cluster (lun-add.sh) the active
# node's data, its writers stopped. Arrays in the same order: devices, labels, legacy_labels, directories,
# fs_ids, fs_xml (the Filesystem primitive) and before_ids (the member it goes before in the group).
: "${devices[@]-}" "${labels[@]-}" "${legacy_labels[@]-}" "${directories[@]-}" "${fs_ids[@]-}" "${fs_xml[@]-}"
: "${before_ids[@]-}" "${fstype:?}" "${node:?}" "${primary:?}" "${group:?}" "${maintenance_window:?}"
: "${settle_timeout_s:?}"
# shellcheck source=lun-add.sh
source "${BASH_SOURCE[0]%/*}/lun-add.sh"

# Not temp_dir: a filesystem that failed to unmount must never be emptied by rm -rf, rmdir refuses it.
seed=$(mktemp -d)
release_seed() { umount "$seed" 2>/dev/null || true; rmdir "$seed"; }
cleanup_push release_seed

# Live: a CIB (pacemaker's, or its copy on disk) holds the group. Who acts: see the top.
live=false creator=$primary where=
if cib_has "//group[@id='$group']"; then
  live=true
  if cibadmin --query --scope nodes >/dev/null 2>&1; then
    where=$(crm_resource --resource "$group" --locate --quiet 2>/dev/null | sort -u | tr '\n' ' ')
    where=${where% }
    if [ -n "$where" ]; then
      [ "$where" = "$node" ] && creator=true || creator=false
    fi
  else
    creator=unknown  # the CIB on disk only: the peer may run the group; nothing that needs to know is done
  fi
fi

# new_lun FS_ID: a LUN the live group has no Filesystem for yet (or whose seeding was interrupted).
new_lun() {
  [ "$live" = true ] && { ! cib_has "//primitive[@id='$1']" || cib_has "//nvpair[@id='$1-seeding-target-role']"; }
}

# refuse_unknown DIRECTORY WHAT: this node cannot tell where the group runs: nothing is done.
refuse_unknown() {
  fail "$1: $2, but pacemaker does not answer on $node, so where the group runs (and the directory's data is) is unknown" \
    "start the cluster on $node (systemctl start corosync pacemaker), then run pulumi up again"
}

# ensure_label DEVICE TYPE LABEL LEGACY DIRECTORY FS_ID: an existing filesystem gets its label once, only when it
# carries none or the label an earlier version gave it: a filesystem labelled for another directory is
# another directory's data (a renumbered LUN?), never relabelled.
ensure_label() {
  local dev=$1 type=$2 label=$3 legacy=$4 dir=$5 fs=$6 found others mounted
  found=$(blkid -p -s LABEL -o value "$dev") || true
  [ "$found" != "$label" ] || return 0
  if [ -n "$found" ] && [ "$found" != "$legacy" ]; then
    fail "$dev, the LUN the stack gives $dir, holds a $type filesystem labelled '$found', not '$label': it looks like another directory's data (a LUN renumbered on the SAN?). Nothing changed." \
      "compare blkid on both nodes with storage.lun_numbers (pulumi stack output luns), fix the stack or the" \
      "SAN, then run pulumi up again"
  fi
  if [ "$type" != "$fstype" ]; then
    fail "$dev, the LUN of $dir, holds $type, not the stack's $fstype (storage.fstype): not relabelled" \
      "set storage.fstype to $type in stacks/Pulumi.<stack>.yaml (or check the LUN number), then run pulumi up again"
  fi
  others=$(blkid -c /dev/null -t "LABEL=$label" -o device) || true
  if [ -n "$others" ]; then
    fail "$dir: the label $label is already on $others: not given to $dev too" \
      "relabel the other one (e2label or xfs_admin -L), then run pulumi up again"
  fi
  [ "$creator" != unknown ] || refuse_unknown "$dir" "$dev needs its label $label"
  mounted=$(findmnt -n -o TARGET --source "$dev" 2>/dev/null | head -n 1) || true
  if [ -n "$mounted" ] && [ "$mounted" != "$dir" ]; then
    fail "$dev is mounted on $mounted, not $dir: not relabelled" \
      "on $node: umount $mounted (findmnt $dev shows it), then run pulumi up again"
  elif [ -n "$mounted" ]; then
    # Mounted here (the group runs here): through the kernel (FS_IOC_SETFSLABEL, xfs and ext4), never by
    # writing the superblock under a mounted filesystem.
    xfs_io -c "label -s $label" "$dir" >/dev/null
  elif [ "$live" = true ] && [ -n "$(crm_resource --resource "$fs" --locate --quiet 2>/dev/null)" ]; then
    fail "$dir ($fs) is mounted by the cluster on another node: its label is set there" \
      "run pulumi up again once the group runs where this step can label it (crm_mon -1 shows where $fs runs)"
  elif [ "$type" = xfs ]; then
    xfs_admin -L "$label" "$dev" >/dev/null
  else
    e2label "$dev" "$label"
  fi
  echo "$dev: labelled $label (was ${found:-unlabelled})"
}

# ensure_filesystem DEVICE LABEL LEGACY DIRECTORY FS_ID XML BEFORE: mkfs only a device with no signature at
# all (blkid exit 2); label an existing one; add a new LUN to a live group (lun-add.sh).
ensure_filesystem() {
  local dev=$1 label=$2 legacy=$3 dir=$4 fs=$5 xml=$6 before=$7 rc=0 found new=false
  if new_lun "$fs"; then
    new=true
    if [ "$maintenance_window" != true ]; then
      refuse "$dir: its LUN is new to the live cluster: adding it stops the services while the active node's data is copied onto it" \
        "in a maintenance window set storage.maintenance_window: true in the stack, run pulumi up, then set it" \
        "back to false (README, Adding a shared directory (LUN) to a running cluster)"
    fi
    [ "$creator" != unknown ] || refuse_unknown "$dir" "its LUN is new to the live cluster"
  fi
  if [ "$creator" = unknown ]; then
    check_label_or_unknown "$dev" "$label" "$dir"
    return 0
  elif [ "$creator" = false ]; then
    if [ -n "$where" ]; then echo "$dir: created and labelled by $where, where the group runs"
    else echo "$dir: created and labelled by the primary node (the group runs on no node)"; fi
    return 0
  fi
  found=$(blkid -p -s TYPE -o value "$dev") || rc=$?
  case $rc in
    0) echo "$dev already holds $found: kept"
       ensure_label "$dev" "$found" "$label" "$legacy" "$dir" "$fs" ;;
    2) if grep -q "^$dev " /proc/mounts; then
         fail "$dev is mounted: refusing mkfs" "on $node: findmnt $dev shows where; unmount it (umount $dev), then run pulumi up again"
       fi
       if [ "$fstype" = xfs ]; then mkfs.xfs -q -L "$label" "$dev"; else mkfs.ext4 -q -L "$label" "$dev"; fi
       echo "$dev: new $fstype filesystem labelled $label" ;;
    *) fail "blkid could not read $dev (exit $rc): refusing to touch it" \
         "on $node: blkid -p $dev and dmesg | tail (is the LUN readable? iscsiadm -m session), then run pulumi up again" ;;
  esac
  if [ "$new" = true ]; then
    add_lun "$dev" "$label" "$dir" "$fs" "$xml" "$before"
  elif [ "$rc" = 2 ]; then
    seed_from "$dev" "$dir"
  fi
}

# check_label_or_unknown DEVICE LABEL DIRECTORY: on a node that cannot tell where the group runs, a LUN
# already labelled needs nothing; anything else waits for pacemaker.
check_label_or_unknown() {
  [ "$(blkid -p -s LABEL -o value "$1" 2>/dev/null || true)" = "$2" ] || refuse_unknown "$3" "$1 needs its label $2"
}

# seed_from DEVICE DIRECTORY: a fresh filesystem gets what is in DIRECTORY on this node.
seed_from() {
  mount "$1" "$seed"
  cp -a "$2/." "$seed/"
  umount "$seed"
  echo "$1: seeded from $2 on $node"
}

for i in "${!devices[@]}"; do
  ensure_filesystem "${devices[i]}" "${labels[i]}" "${legacy_labels[i]}" "${directories[i]}" "${fs_ids[i]}" \
    "${fs_xml[i]}" "${before_ids[i]}"
done
