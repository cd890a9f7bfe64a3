#!/usr/bin/env bash
# Lock the hacluster account's password. Nothing on the nodes logs in as hacluster with a password (no pcsd,
# no hawk: bluemind-ha drives pacemaker with its own CLI, as root), so no password may work for it; an
# earlier bluemind-ha set one, which this removes from use. Idempotent: a locked account is left as it is.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}"

if ! getent passwd hacluster >/dev/null; then
  fail "on $node: there is no hacluster account; the pacemaker package creates it." \
    "check the cluster-packages step's output (apt-get install pacemaker), then run pulumi up again"
fi
# passwd -S: "hacluster L ..." (locked), "P" (a usable password) or "NP" (none: any password works).
status=$(passwd -S hacluster | awk '{print $2}')
if [ "$status" = L ]; then
  echo "$node: the hacluster account's password is locked (unchanged)"
  exit 0
fi
usermod -L hacluster
if [ "$(passwd -S hacluster | awk '{print $2}')" != L ]; then
  fail "on $node: usermod -L hacluster did not lock the account." \
    "on $node, run 'passwd -l hacluster' and 'passwd -S hacluster' (it must say L), then pulumi up"
fi
echo "$node: the hacluster account's password is now locked (it was $status)"
