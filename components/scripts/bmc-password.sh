#!/usr/bin/env bash
# Store the password of the PEER's BMC. stdin: that password (a Pulumi secret). A node only ever fences its
# peer (it never runs its own fence device), so it holds only that password, root-only, for fence_ipmilan's
# password_script.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${password_file:?}"

install -d -m 0700 "${password_file%/*}"
install_stdin "$password_file" 0600
