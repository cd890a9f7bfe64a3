#!/usr/bin/env bash
# One logical volume per LUN on the storage host: created once, grown when the stack asks for more, never
# shrunk (shrinking would cut a filesystem). volumes: the LVs' names; sizes_gb: their sizes, in order.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${vg:?}" "${physical_device:?}" "${volumes[@]-}" "${sizes_gb[@]-}"

vgs "$vg" >/dev/null 2>&1 || { pvcreate "$physical_device" && vgcreate "$vg" "$physical_device"; }

# ensure_volume NAME SIZE_GB: create the LV, or grow it; a smaller size than the LV's is refused.
ensure_volume() {
  local name=$1 size=$2 have
  if ! lvs "$vg/$name" >/dev/null 2>&1; then
    lvcreate -q -y -n "$name" -L "${size}g" "$vg"
    return
  fi
  have=$(lvs --noheadings --units g --nosuffix -o lv_size "$vg/$name" | awk '{printf "%d", $1}')
  if [ "$have" -lt "$size" ]; then lvextend -q -L "${size}g" "$vg/$name"
  elif [ "$have" -gt "$size" ]; then echo "$name is ${have} GB, the stack asks ${size} GB: LUNs are never shrunk" >&2
  fi
}

for i in "${!volumes[@]}"; do
  ensure_volume "${volumes[i]}" "${sizes_gb[i]}"
done
