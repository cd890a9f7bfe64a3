# shellcheck shell=bash
# Part of iscsi-login.sh with storage.multipath: one dm-multipath map per LUN over both portals' paths, named
# for its directory (the CIB's Filesystem device). Both paths must lead to the same LUN: the WWID udev reads
# through each portal is compared, so a second portal that numbers its LUNs differently is refused before any
# map is made, never mounted as another directory's data.
: "${first_paths[@]-}" "${second_paths[@]-}" "${aliases[@]-}" "${maps[@]-}"
: "${multipath_conf_path:?}" "${multipath_conf:?}"
if ! dpkg-query -W -f '${Status}' multipath-tools 2>/dev/null | grep -q 'install ok installed'; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --no-upgrade multipath-tools
fi
section=""
for i in "${!first_paths[@]}"; do
  first=$(udevadm info --query=property --property=ID_SERIAL --value --name "${first_paths[i]}")
  second=$(udevadm info --query=property --property=ID_SERIAL --value --name "${second_paths[i]}")
  if [ -z "$first" ] || [ "$first" != "$second" ]; then
    fail "${aliases[i]}: the two paths are not the same LUN (WWID '${first}' through ${first_paths[i]}, '${second}' through ${second_paths[i]})" \
      "check the LUN numbers on both portals of the SAN (pulumi stack output luns), then run pulumi up again"
  fi
  section+=$(printf '    multipath {\n        wwid %s\n        alias %s\n    }' "$first" "${aliases[i]}")$'\n'
  multipath -a "${first_paths[i]}" >/dev/null  # find_multipaths strict: only the WWIDs added here
done
install -d -m 0755 "${multipath_conf_path%/*}"
maps_conf=$(printf '%smultipaths {\n%s}\n' "$multipath_conf" "$section" | install_stdin "$multipath_conf_path" 0644)
systemctl enable --now multipathd.service
if [ "$maps_conf" = changed ]; then
  multipathd reconfigure
  echo "multipath maps: ${aliases[*]}"
fi
wait_for_devices "${maps[@]}"
