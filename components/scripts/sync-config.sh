#!/usr/bin/env bash
# Install lsyncd's configuration (stdin), its unit (lsyncd_unit) and the unit's start-up guard (guard, which
# is also the admin's bluemind-ha-sync command). The unit is installed but never enabled: lsyncd is a member
# of the cluster group, so only the active node runs it and the sync always flows active -> passive.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${lsyncd_conf:?}" "${lsyncd_unit_path:?}" "${lsyncd_unit:?}" "${guard_path:?}" "${guard:?}"

install -d -m 0755 "${lsyncd_conf%/*}"
install_stdin "$lsyncd_conf" 0644
install -d -m 0755 "${guard_path%/*}"
printf '%s' "$guard" | install_stdin "$guard_path" 0755
printf '%s' "$lsyncd_unit" | install_stdin "$lsyncd_unit_path" 0644
systemctl daemon-reload
systemctl disable lsyncd.service 2>/dev/null || true
