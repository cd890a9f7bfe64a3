# shellcheck shell=bash
# Part of filesystems.sh, on the primary node only: create each LUN's filesystem exactly once (devices,
# labels and directories in the same order); never mkfs a device that already holds a filesystem. A fresh
# filesystem is seeded with what the packages installed in that directory (PostgreSQL's cluster, cyrus'
# databases).
: "${devices[@]-}" "${labels[@]-}" "${directories[@]-}" "${fstype:?}"
# Not temp_dir: a filesystem that failed to unmount must never be emptied by rm -rf, rmdir refuses it.
seed=$(mktemp -d)
release_seed() { umount "$seed" 2>/dev/null || true; rmdir "$seed"; }
cleanup_push release_seed

# ensure_filesystem DEVICE LABEL DIRECTORY: mkfs only a device with no signature at all (blkid exit 2).
ensure_filesystem() {
  local dev=$1 label=$2 dir=$3 rc=0 found
  found=$(blkid -p -s TYPE -o value "$dev") || rc=$?
  case $rc in
    0) echo "$dev already holds $found: kept"; return 0 ;;
    2) ;;
    *) fail "blkid could not read $dev (exit $rc): refusing to touch it" \
         "on this node: blkid -p $dev and dmesg | tail (is the LUN readable? iscsiadm -m session), then run pulumi up again" ;;
  esac
  if grep -q "^$dev " /proc/mounts; then
    fail "$dev is mounted: refusing mkfs" "on this node: findmnt $dev shows where; unmount it (umount $dev), then run pulumi up again"
  fi
  if [ "$fstype" = xfs ]; then mkfs.xfs -q -L "$label" "$dev"; else mkfs.ext4 -q -L "$label" "$dev"; fi
  mount "$dev" "$seed"
  cp -a "$dir/." "$seed/"
  umount "$seed"
  echo "$dev: new $fstype filesystem, seeded from $dir"
}

for i in "${!devices[@]}"; do
  ensure_filesystem "${devices[i]}" "${labels[i]}" "${directories[i]}"
done
