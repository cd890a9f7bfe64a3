#!/usr/bin/env bash
# Create the node's dedicated lsyncd key once; print its public key and the node's SSH host key, which the
# peer authorizes and pins (sync-trust.sh).
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${sync_key:?}"

install -d -m 0700 /root/.ssh
[ -f "$sync_key" ] || ssh-keygen -q -t ed25519 -N '' -C "bluemind-ha-sync@$node" -f "$sync_key"
cat "$sync_key.pub"
cat /etc/ssh/ssh_host_ed25519_key.pub
