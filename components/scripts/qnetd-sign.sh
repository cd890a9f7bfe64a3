#!/usr/bin/env bash
# Sign one node's certificate request with the arbitrator's CA (corosync-qnetd-certutil -s). stdin: the node's
# request (DER, base64 on one line: public). Prints the signed certificate (DER, base64, public), which the
# node's qdevice-cert step imports. The tool writes one file per cluster name, and both nodes' steps may run at
# once: they take turns (a lock on the database directory). The file is removed: the node holds its copy.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${cluster:?}" "${qnetd_nssdb:?}"

temp_dir
request=$REPLY/$node.crq
base64 -d > "$request"
[ -s "$request" ] || fail "$node: no certificate request on stdin" \
  "$node's qdevice-request step prints it: read its error above in pulumi up's output, fix it, then run" \
  "pulumi up again"
exec {lock}<"$qnetd_nssdb"
flock -w 120 "$lock"
signed=$qnetd_nssdb/cluster-$cluster.crt
rm -f "$signed"
corosync-qnetd-certutil -s -c "$request" -n "$cluster" >&2
base64 -w0 "$signed"
echo
rm -f "$signed"
