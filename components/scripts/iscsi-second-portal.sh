# shellcheck shell=bash
# Part of iscsi-login.sh with storage.multipath: the session through the SAN's second portal, with a node
# record of its own that carries the same iscsid.conf settings (CHAP included) as the first's.
: "${second_portal:?}" "${portal:?}" "${target:?}" "${login_timeout:?}"
first_portal=$portal
portal=$second_portal  # what logged_in and the node record part look at
node_record=(-m node -T "$target" -p "$portal")
# shellcheck source=iscsi-node-record.sh
source "${BASH_SOURCE[0]%/*}/iscsi-node-record.sh"
if [ "$record" = changed ]; then
  # As for the first portal: a live session takes its node record's settings when iscsid starts.
  systemctl restart iscsid
  echo "iscsid restarted: the node record of $portal changed"
fi
if ! logged_in; then
  timeout "$login_timeout" iscsiadm "${node_record[@]}" --login
fi
portal=$first_portal
