#!/usr/bin/env bash
# Before the CIB push enables STONITH: can this node power its peer off? Ask the peer's BMC for its power
# status with exactly the parameters of the CIB's fence device for the peer (`parameters`, name=value lines
# on stdin as pacemaker's fencer passes them), so a wrong address, port, user, password file or cipher fails
# here, while the cluster is still safe, instead of at the first fence. Exit 0 if the device answers.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${peer:?}" "${bmc:?}" "${failed:?}" "${timeout_s:?}" "${parameters:?}" "${power_status:?}"

if ! command -v fence_ipmilan >/dev/null; then
  fail "$failed: fence_ipmilan is not installed (package fence-agents)" \
    "on $node: apt-get install fence-agents (the cluster-packages step installs it), then run pulumi up again"
fi
rc=0
output=$(timeout "$timeout_s" fence_ipmilan 2>&1 <<<"${parameters%$'\n'}") || rc=$?
case $rc in
  0) echo "pre-flight OK: $node can fence $peer; BMC $bmc answers, $peer is powered on" ;;
  2) echo "pre-flight OK: $node can fence $peer; BMC $bmc answers, $peer is powered OFF" ;;
  *)
    [ "$rc" = 124 ] && reason="no answer within $timeout_s s" || reason="fence_ipmilan status exit $rc"
    echo "$failed: $reason. The agent said:" >&2
    grep -v -e DeprecationWarning -e 'from pipes import' <<<"$output" >&2 || true
    fail "STONITH stays disabled: $node cannot fence $peer" \
      "on $node: $power_status (README, Troubleshooting, a BMC does not answer); check the BMC's address and" \
      "port, IPMI over LAN, the user's privilege, the password and the cipher suite, then run pulumi up again"
    ;;
esac
