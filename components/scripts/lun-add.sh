# shellcheck shell=bash
# Part of filesystems-create.sh: a LUN added to a live cluster, on the node running the group (in a maintenance
# window: storage.maintenance_window). Its Filesystem goes into the group at its place, before the member
# `before`, held stopped (target-role=Stopped): a group never runs a member after one that is stopped, so
# the services from `before` on stop, and nothing before it (the VIP, the other filesystems) moves. With
# the directory's writers stopped, the active node's directory is copied onto the new filesystem; then the
# member is released: pacemaker mounts it and starts the services again, in order. An interrupted run leaves
# the member held (its nvpair <fs>-seeding-target-role): the next run seeds and releases it.
: "${group:?}" "${settle_timeout_s:?}"
# shellcheck source=lun-label.sh
source "${BASH_SOURCE[0]%/*}/lun-label.sh"

# insert_held_member FS_ID XML BEFORE: the primitive XML, held stopped, into the live group before BEFORE.
insert_held_member() {
  local fs=$1 xml=$2 before=$3 work
  temp_dir
  work=$REPLY
  printf '%s\n' "$xml" > "$work/member.xml"
  cibadmin --query > "$work/live.xml"
  python3 - "$work/live.xml" "$work/member.xml" "$group" "$before" "$fs" > "$work/new.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

live, member_file, group_id, before, fs = sys.argv[1:6]
cib = ET.parse(live).getroot()
group = cib.find(f".//resources/group[@id='{group_id}']")
member = ET.parse(member_file).getroot()
meta = ET.SubElement(member, "meta_attributes", id=f"{fs}-seeding-meta_attributes")
ET.SubElement(meta, "nvpair", id=f"{fs}-seeding-target-role", name="target-role", value="Stopped")
ids = [child.get("id") for child in group]
group.insert(ids.index(before) if before in ids else len(ids), member)
sys.stdout.write(ET.tostring(cib, encoding="unicode"))
PY
  crm_verify --xml-file "$work/new.xml"
  crm_diff --original "$work/live.xml" --new "$work/new.xml" --no-version > "$work/patch.xml" || [ $? = 1 ]
  cibadmin --patch --xml-file "$work/patch.xml"
}

# settle WHAT: wait, bounded, until pacemaker has done what the CIB asks.
settle() {
  if ! crm_resource --wait --timeout="${settle_timeout_s}s" >/dev/null 2>&1; then
    fail "the cluster has not settled within ${settle_timeout_s} s $1" \
      "crm_mon -1 -r -f shows why; fix it, then run pulumi up again"
  fi
}

# add_lun DEVICE LABEL DIRECTORY FS_ID XML BEFORE
add_lun() {
  local dev=$1 label=$2 dir=$3 fs=$4 xml=$5 before=$6 running
  if ! cib_has "//primitive[@id='$fs']"; then
    insert_held_member "$fs" "$xml" "$before"
    echo "$fs: added to the group $group before $before, held stopped: the services from $before on stop"
  fi
  settle "while stopping the services from $before on"
  running=$(crm_resource --resource "$before" --locate --quiet 2>/dev/null) || true
  if [ -n "$running" ]; then
    fail "$before still runs on $running: $dir is not copied while its writers run; $fs stays held (target-role=Stopped)" \
      "see crm_mon -1 -r -f, then run pulumi up again"
  fi
  if grep -q "^$dev " /proc/mounts; then
    fail "$dev is mounted: not seeded" "on this node: findmnt $dev shows where; unmount it (umount $dev), then run pulumi up again"
  fi
  seed_from "$dev" "$dir"
  check_lun_label "$dev" "$label" "$dir"
  crm_resource --resource "$fs" --meta --delete-parameter target-role >/dev/null
  echo "$fs: released: pacemaker mounts $dir and starts the services from $before on again"
  settle "after mounting $dir"
}
