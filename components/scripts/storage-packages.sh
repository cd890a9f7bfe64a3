#!/usr/bin/env bash
# The iSCSI target's packages on the storage host.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends tgt lvm2
systemctl enable --now tgt.service
