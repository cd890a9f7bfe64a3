#!/usr/bin/env bash
# Import this node's certificate, signed by the arbitrator's CA (corosync-qdevice-net-certutil -M), then start
# corosync-qdevice with corosync. stdin: the certificate (DER, base64 on one line: public; the arbitrator's
# qnetd-sign step). -M also writes the key and the certificate to a PKCS#12 file without a password, made for
# copying one key to the other nodes; each node has its own key here, so that file is removed at once.
# Idempotent: the certificate already imported changes nothing.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=qdevice-host.sh
source "${BASH_SOURCE[0]%/*}/qdevice-host.sh"
: "${node:?}" "${qdevice_nssdb:?}" "${cert_nickname:?}" "${qdevice_dropin:?}" "${qdevice_dropin_text:?}"

temp_dir
signed=$REPLY/cluster.crt
base64 -d > "$signed"
[ -s "$signed" ] || fail "$node: no signed certificate on stdin" \
  "the arbitrator's qnetd-sign-$node step prints it: read its error above in pulumi up's output, fix it," \
  "then run pulumi up again"
installed=$(certutil -L -d "$qdevice_nssdb" -n "$cert_nickname" -r 2>/dev/null | base64 -w0 || true)
changed=false
if [ "$installed" != "$(base64 -w0 "$signed")" ]; then
  if [ -n "$installed" ]; then
    certutil -D -d "$qdevice_nssdb" -n "$cert_nickname"
  fi
  corosync-qdevice-net-certutil -M -c "$signed" >&2
  rm -f "$qdevice_nssdb/qdevice-net-node.p12"
  changed=true
  echo "$node: certificate for the arbitrator imported"
else
  echo "$node: certificate for the arbitrator unchanged"
fi
qdevice_start "$changed" "$qdevice_dropin" "$qdevice_dropin_text"
