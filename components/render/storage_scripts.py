"""The scripts of the storage host (storage kind `tgt`): packages, one logical volume per LUN, and the tgt
target that serves them. Pure: Settings in, bash out; stdin is named in each docstring."""
from __future__ import annotations

import shlex

from components.render.shell import script
from components.settings import Settings


def storage_packages(s: Settings) -> str:
    return script(f"{s.storage.host.name}: iSCSI target packages", """
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends tgt lvm2
systemctl enable --now tgt.service
""")


def storage_volumes(s: Settings) -> str:
    """One logical volume per LUN on the storage host: created once, grown when the stack asks for more,
    never shrunk (shrinking would cut a filesystem)."""
    host = s.storage.host
    vg = shlex.quote(host.volume_group)
    lines = [f"vgs {vg} >/dev/null 2>&1 || {{ pvcreate {shlex.quote(host.physical_device)} && "
             f"vgcreate {vg} {shlex.quote(host.physical_device)}; }}"]
    for lun in s.storage.luns:
        lines.append(f"ensure_volume {shlex.quote(lun.slug)} {lun.size_gb}")
    helper = f'''
# ensure_volume NAME SIZE_GB: create the LV, or grow it; a smaller size than the LV's is refused.
ensure_volume() {{
  local name=$1 size=$2 have
  if ! lvs {vg}/"$name" >/dev/null 2>&1; then
    lvcreate -q -y -n "$name" -L "${{size}}g" {vg}
    return
  fi
  have=$(lvs --noheadings --units g --nosuffix -o lv_size {vg}/"$name" | awk '{{printf "%d", $1}}')
  if [ "$have" -lt "$size" ]; then lvextend -q -L "${{size}}g" {vg}/"$name"
  elif [ "$have" -gt "$size" ]; then echo "$name is ${{have}} GB, the stack asks ${{size}} GB: LUNs are never shrunk" >&2
  fi
}}
'''
    return script(f"{host.name}: logical volumes for the LUNs", helper + "\n".join(lines))


def storage_targets(s: Settings) -> str:
    """stdin: targets.conf (holds the CHAP secret). A new target is created; a live one is updated only
    while no initiator uses it, since tgt re-creates a target to change it and would cut the nodes' I/O."""
    iqn = shlex.quote(s.storage.target_iqn)
    return script(f"{s.storage.host.name}: iSCSI target", f"""
install -d -m 0755 /etc/tgt/conf.d
[ "$(install_stdin /etc/tgt/conf.d/bluemind-ha.conf 0600)" = changed ] || exit 0
if tgt-admin --show | grep -q "^Target [0-9]*: {s.storage.target_iqn}$"; then
  # Without --force tgt-admin leaves a target with logged-in initiators alone: checked below.
  tgt-admin --update {iqn}
else
  tgt-admin --execute
fi
for lun in {" ".join(str(lun.number) for lun in s.storage.luns)}; do
  if ! tgt-admin --show | grep -q "LUN: $lun$"; then
    echo "LUN $lun is not served: target {s.storage.target_iqn} is in use, so its new configuration is saved but not applied." >&2
    echo "Apply it in a maintenance window: crm_attribute --name maintenance-mode --update true, stop the group," >&2
    echo "then tgt-admin --update {s.storage.target_iqn} --force." >&2
    exit 1
  fi
done
""")
