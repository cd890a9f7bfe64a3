#!/usr/bin/env bash
# Before the CIB push enables STONITH: can this node power its peer off? Ask the peer's BMC for its power
# status with exactly the parameters of the CIB's fence device for the peer (`parameters`, name=value lines
# on stdin as pacemaker's fencer passes them), so a wrong address, port, user, password file or cipher fails
# here, while the cluster is still safe, instead of at the first fence. Exit 0 if the device answers.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${peer:?}" "${bmc:?}" "${failed:?}" "${timeout_s:?}" "${parameters:?}"

if ! command -v fence_ipmilan >/dev/null; then
  echo "$failed: fence_ipmilan is not installed (package fence-agents)" >&2
  exit 1
fi
rc=0
output=$(timeout "$timeout_s" fence_ipmilan 2>&1 <<<"${parameters%$'\n'}") || rc=$?
case $rc in
  0) echo "pre-flight OK: $node can fence $peer; BMC $bmc answers, $peer is powered on" ;;
  2) echo "pre-flight OK: $node can fence $peer; BMC $bmc answers, $peer is powered OFF" ;;
  *)
    [ "$rc" = 124 ] && reason="no answer within $timeout_s s" || reason="fence_ipmilan status exit $rc"
    echo "$failed: $reason." >&2
    echo "STONITH stays disabled. Check the BMC address/port, the user, the password in" \
         "the password file and the cipher suite; the agent said:" >&2
    grep -v -e DeprecationWarning -e 'from pipes import' <<<"$output" >&2 || true
    exit 1
    ;;
esac
