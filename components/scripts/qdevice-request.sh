#!/usr/bin/env bash
# This node's side of the arbitrator's TLS (cluster.qdevice): its NSS database trusting the arbitrator's CA
# (corosync-qdevice-net-certutil -i), and its own key with a certificate request (-r, subject the cluster name,
# as corosync-qnetd expects). stdin: the CA's certificate (PEM, public: the arbitrator's qnetd step). Prints the
# request (DER, base64 on one line: public), which the arbitrator signs (qnetd-sign). Each node has its own key,
# made here, which never leaves it. Idempotent: the same CA and cluster name keep the database and the request
# (same output, so nothing downstream re-runs); another CA or cluster name starts it over.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=qdevice-host.sh
source "${BASH_SOURCE[0]%/*}/qdevice-host.sh"
: "${node:?}" "${cluster:?}" "${qdevice_nssdb:?}" "${ca_nickname:?}"

qdevice_install
temp_dir
ca=$REPLY/qnetd-cacert.crt
tr -d '\r' > "$ca"
grep -q -- '-----BEGIN CERTIFICATE-----' "$ca" || fail "$node: no CA certificate on stdin" \
  "the arbitrator's qnetd step prints it: read its error above in pulumi up's output, fix it, then run" \
  "pulumi up again"
# pem_der FILE: the DER bytes of a PEM certificate, base64 on one line (to compare two certificates).
pem_der() { sed '/-----/d' "$1" | tr -d '\n'; }
marker=$qdevice_nssdb/bluemind-ha-cluster
if [ -f "$qdevice_nssdb/cert9.db" ]; then
  trusted=$(certutil -L -d "$qdevice_nssdb" -n "$ca_nickname" -r 2>/dev/null | base64 -w0 || true)
  if [ "$trusted" != "$(pem_der "$ca")" ] || [ "$(cat "$marker" 2>/dev/null)" != "$cluster" ]; then
    echo "$node: another arbitrator CA or cluster name: this node's qdevice database starts over" >&2
    rm -rf "$qdevice_nssdb"
  fi
fi
if [ ! -f "$qdevice_nssdb/cert9.db" ]; then
  corosync-qdevice-net-certutil -i -c "$ca" >&2
  printf '%s\n' "$cluster" > "$marker"
fi
if [ ! -f "$qdevice_nssdb/qdevice-net-node.crq" ]; then
  corosync-qdevice-net-certutil -r -n "$cluster" >&2
fi
base64 -w0 "$qdevice_nssdb/qdevice-net-node.crq"
echo
