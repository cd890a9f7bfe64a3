#!/usr/bin/env bash
# Install the apt source of the stack's BlueMind subscription. stdin: the source line (a Pulumi secret: its
# URL carries the subscription id), so the file is root-only. With the stack's signing key
# (bluemind.apt_signing_key, empty when unset), the key is installed first, readable by all (apt checks
# signatures as _apt), and the source line names it (signed-by). Without one, apt must trust BlueMind's key
# otherwise; a key file left by an earlier run is kept (no source names it). Runs on every change of the URL
# (a renewed subscription) or of the key without upgrading anything: new versions are the update chain's.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${apt_source_path:?}" "${keyring_path:?}" "${signing_key?}"

if [ -n "$signing_key" ]; then
  install -d -m 0755 "${keyring_path%/*}"
  printf '%s' "$signing_key" | install_stdin "$keyring_path" 0644 >/dev/null
  echo "$node: BlueMind's repository key is in place ($keyring_path)"
fi
install_stdin "$apt_source_path" 0600 >/dev/null
echo "$node: BlueMind's apt source is in place ($apt_source_path, root-only)"
