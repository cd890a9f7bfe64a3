#!/usr/bin/env bash
# On the hypervisor, one VirtualBMC endpoint for a node VM. stdin: its vbmcd config. Install the endpoint,
# (re)start it if needed.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${domain:?}" "${vbmc_home:?}" "${start_wait_s:?}"

export HOME=$vbmc_home  # the vbmc client finds vbmcd through the configuration under root's home
dir="$HOME/.vbmc/$domain"
systemctl start vbmcd.service
install -d -m 0700 "$HOME/.vbmc" "$dir"

status() { vbmc list -f value -c 'Domain name' -c Status | awk -v d="$domain" '$1 == d { print $2 }'; }
receive_stdin "$dir/.config.XXXXXX"
received=$REPLY
if cmp -s "$received" "$dir/config"; then
  [ "$(status)" = running ] || vbmc start "$domain"
else
  # A running endpoint keeps the settings it started with: stop it, install, start it again.
  [ "$(status)" = running ] && vbmc stop "$domain"
  install_stdin "$dir/config" 0600 < "$received" >/dev/null
  vbmc start "$domain"
  echo "VirtualBMC for $domain (re)configured"
fi
for _ in $(seq "$start_wait_s"); do
  [ "$(status)" = running ] && exit 0
  sleep 1
done
fail "VirtualBMC for $domain is not running after $start_wait_s s" \
  "on the hypervisor: vbmc list and journalctl -u vbmcd -b; fix what they show, then run pulumi up again"
