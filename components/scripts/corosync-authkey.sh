#!/usr/bin/env bash
# Install the corosync authkey. stdin: the key, base64 (a Pulumi secret). corosync reads its key only at
# start, and a node with a new key cannot join one with the old: while corosync runs, a different key is
# refused with the rotation procedure, and the old key stays in place.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${authkey:?}"

install -d -m 0755 "${authkey%/*}"
temp_file "${authkey%/*}/.authkey.XXXXXX"
new=$REPLY
base64 -d > "$new"
if [ -f "$authkey" ] && ! cmp -s "$new" "$authkey" && corosync-cfgtool -s >/dev/null 2>&1; then
  fail "$node: corosync_authkey changed while corosync runs here; the running key is kept." \
    "Rotate it on both nodes at once, in a maintenance window: crm_attribute --name maintenance-mode" \
    "--update true; on both nodes systemctl stop pacemaker corosync; pulumi up (installs the new key); on both" \
    "nodes systemctl start corosync pacemaker; crm_attribute --name maintenance-mode --delete"
fi
install_stdin "$authkey" 0400 < "$new"
