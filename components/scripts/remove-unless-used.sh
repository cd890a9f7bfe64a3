#!/usr/bin/env bash
# The delete of a step (pulumi destroy, or the step leaving the stack): remove the files it installed, and
# its line in root's authorized_keys, unless the cluster's configuration still refers to what they serve
# (in_use_xpath). A destroy keeps a running cluster running: what it still needs is kept, and said so.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${step:?}" "${in_use_xpath:?}" "${authorized_key_comment-}"
: "${files[@]:?}"

if cib_has "$in_use_xpath"; then
  echo "$step: kept ${files[*]}: the cluster's configuration still uses them ($in_use_xpath)"
  exit 0
fi
units_changed=false
for file in "${files[@]}"; do
  if [ -e "$file" ]; then
    rm -f -- "$file"
    echo "$step: removed $file"
    [[ $file != /etc/systemd/* ]] || units_changed=true
  fi
done
if $units_changed; then
  systemctl daemon-reload
fi
keys=/root/.ssh/authorized_keys
if [ -n "$authorized_key_comment" ] && [ -f "$keys" ] && grep -qF "$authorized_key_comment" "$keys"; then
  { grep -vF "$authorized_key_comment" "$keys" || true; } | install_stdin "$keys" 0600 >/dev/null
  echo "$step: removed the $authorized_key_comment key from $keys"
fi
