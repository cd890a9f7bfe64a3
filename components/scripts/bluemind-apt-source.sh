#!/usr/bin/env bash
# Install the apt source of the stack's BlueMind subscription. stdin: the source line (a Pulumi secret: its
# URL carries the subscription id), so the file is root-only. Runs on every change of the URL (a renewed
# subscription) without upgrading anything: new versions are the update chain's.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${node:?}" "${apt_source_path:?}"

install_stdin "$apt_source_path" 0600 >/dev/null
echo "$node: BlueMind's apt source is in place ($apt_source_path, root-only)"
