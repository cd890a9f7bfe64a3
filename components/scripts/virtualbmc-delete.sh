#!/usr/bin/env bash
# The delete of a node VM's VirtualBMC endpoint: stop it and remove it with its configuration (which holds
# the BMC password). Its VM is gone or going: nothing can fence through it any more.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${domain:?}" "${vbmc_home:?}"

export HOME=$vbmc_home
if command -v vbmc >/dev/null && vbmc show "$domain" >/dev/null 2>&1; then
  vbmc stop "$domain" >/dev/null 2>&1 || true
  vbmc delete "$domain"
  echo "VirtualBMC for $domain removed"
fi
rm -rf -- "$HOME/.vbmc/$domain"
