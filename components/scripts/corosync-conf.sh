#!/usr/bin/env bash
# Install corosync.conf (stdin), tested with `corosync -t` before it replaces the live file, then reloaded.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${corosync_conf:?}"

install -d -m 0755 "${corosync_conf%/*}"
receive_stdin "$corosync_conf.XXXXXX"
new=$REPLY
# corosync -t logs "Corosync Cluster Engine exiting normally" on stderr even when the file is fine: its
# output is shown only when it refuses the file.
if ! check=$(corosync -t -c "$new" 2>&1); then
  echo "$check" >&2
  fail "corosync -t refuses the rendered corosync.conf (its reason above); the running one is kept" \
    "fix the cluster settings it names in stacks/Pulumi.<stack>.yaml (make plan shows the file:" \
    "build/<stack>/cluster/corosync.conf), then run pulumi up again"
fi
chmod 0644 "$new"
if [ "$(install_stdin "$corosync_conf" 0644 < "$new")" = changed ] && corosync-cfgtool -s >/dev/null 2>&1; then
  corosync-cfgtool -R
fi
