#!/usr/bin/env bash
# corosync-qnetd on the arbitrator (cluster.qdevice) with its certificate authority; prints the CA's certificate
# (PEM, public), which each node's qdevice-request step trusts. The CA's key and the server's key never leave this
# host. The CA is made once (Debian's postinst makes it: `corosync-qnetd-certutil -i`; a host where it did not
# gets it here): a new CA would orphan every node's certificate, and this host may arbitrate other clusters, so an
# existing database is never touched. Everything but the certificate goes to stderr.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# shellcheck source=qnetd-host.sh
source "${BASH_SOURCE[0]%/*}/qnetd-host.sh"
: "${qnetd_nssdb:?}" "${qnetd_user:?}" "${ca_nickname:?}"

qnetd_install
made=false
if [ ! -f "$qnetd_nssdb/cert9.db" ]; then
  # As Debian's postinst does: no group write bit, the database readable by the daemon's group.
  corosync-qnetd-certutil -i -G >&2
  chgrp "$qnetd_user" "$qnetd_nssdb" "$qnetd_nssdb/cert9.db" "$qnetd_nssdb/key4.db"
  made=true
fi
qnetd_start "$made"
certutil -L -d "$qnetd_nssdb" -n "$ca_nickname" -a | tr -d '\r'
