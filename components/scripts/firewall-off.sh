#!/usr/bin/env bash
# firewall.enabled: false: bluemind-ha's table, rules file and unit are removed; other nftables tables are
# untouched.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${table:?}" "${rules_path:?}" "${unit:?}" "${unit_path:?}"

if command -v nft >/dev/null && nft list table inet "$table" >/dev/null 2>&1; then
  nft delete table inet "$table"
fi
if [ -e "$unit_path" ]; then
  systemctl disable --quiet "$unit"
  rm -f "$unit_path"
  systemctl daemon-reload
fi
rm -f "$rules_path"
echo "$node: bluemind-ha's firewall is off (firewall.enabled: false); other nftables tables are untouched"
