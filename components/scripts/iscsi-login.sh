#!/usr/bin/env bash
# Log the node in to the iSCSI target. stdin: the rendered iscsid.conf (with the CHAP secret). Install the
# initiator's files, bring the node record in line with them, log in, wait for the LUNs.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${iqn:?}" "${portal:?}" "${target:?}" "${devices[@]-}" "${iscsid_conf:?}" "${initiatorname:?}"
: "${login_timeout:?}" "${device_wait:?}"

install -d -m 0755 "${iscsid_conf%/*}"
receive_stdin "${iscsid_conf%/*}/.iscsid.conf.XXXXXX"
received=$REPLY
if ! grep -q '^node.session.auth.password = ' "$received"; then
  fail "stdin must be the rendered iscsid.conf (with the CHAP secret); got something else" \
    "check that the stack has the secret (pulumi config get bluemind-ha:chap_password), then run pulumi up again"
fi
conf=$(install_stdin "$iscsid_conf" 0600 < "$received")
name=$(printf 'InitiatorName=%s\n' "$iqn" | install_stdin "$initiatorname" 0644)
# shellcheck source=iscsi-node-record.sh
source "${BASH_SOURCE[0]%/*}/iscsi-node-record.sh"
if [ "$conf" = changed ] || [ "$name" = changed ] || [ "$record" = changed ]; then
  # iscsid reads both files when it starts, and takes each live session's settings from its node record
  # then: a restart after the record update makes a reconnect (target restart, lost link) use the new
  # secret too. Running sessions keep their login.
  systemctl restart iscsid
  echo "iscsid restarted: iscsid.conf $conf, initiatorname.iscsi $name, node record $record"
fi

# `iscsiadm -m session` lines: "tcp: [1] 192.168.150.20:3260,1 iqn....:bluemind-data (non-flash)".
logged_in() {
  iscsiadm -m session 2>/dev/null |
    awk -v p="$portal" -v t="$target" '{ split($3, a, ","); if (a[1] == p && $4 == t) found = 1 } END { exit !found }'
}
rescanned=false
if ! logged_in; then
  timeout "$login_timeout" iscsiadm "${node_record[@]}" --login \
    || fail "the iSCSI login of $node ($iqn) to $target at $portal was refused or timed out" \
      "on $node: iscsiadm -m discovery -t sendtargets -p $portal; the SAN's log says whether the initiator or" \
      "CHAP was refused: its ACL must admit $iqn with the CHAP user (pulumi stack output san_access). Then run pulumi up again"
  rescanned=true  # a login scans every LUN
fi
# shellcheck source=iscsi-second-portal.sh
source "${BASH_SOURCE[0]%/*}/iscsi-second-portal.sh"

# Every block device in $@ (udev creates them shortly after a login), or fail naming the missing ones.
wait_for_devices() {
  local deadline=$((SECONDS + device_wait)) device missing
  while :; do
    missing=()
    for device in "$@"; do
      [ -b "$device" ] || missing+=("$device")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$rescanned" = false ]; then
      # A LUN added to the target under a live session (README, Adding a shared directory (LUN) to a running
      # cluster) appears only once the sessions are rescanned (each portal's); a rescan disturbs no I/O.
      timeout "$login_timeout" iscsiadm -m node -T "$target" --rescan >/dev/null || true
      rescanned=true
      continue
    fi
    if [ $SECONDS -ge $deadline ]; then
      printf '  %s\n' "${missing[@]}" >&2
      fail "LUNs not visible on $node after $device_wait s (the devices above)" \
        "on $node: iscsiadm -m session -P 3 lists the LUNs the target gives; check the target's ACL, CHAP and LUN" \
        "numbers (pulumi stack output luns), then run pulumi up again"
    fi
    udevadm settle --timeout=5 || true
    sleep 1
  done
}
# Every LUN under its by-path name (through each portal).
wait_for_devices "${devices[@]}"
# shellcheck source=iscsi-multipath.sh
source "${BASH_SOURCE[0]%/*}/iscsi-multipath.sh"
echo "$node: logged in to $target at $portal, ${#devices[@]} LUNs present"
