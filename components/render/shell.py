"""The frame every rendered node script shares: strict mode, a title, and one helper to install a file.

Scripts are the `create`/`update` of pulumi_command remote.Commands. Rendered content arrives on stdin,
never on a command line (where `ps` and shell history would show it). Each script is idempotent: a re-run
with the same input changes nothing and says so.
"""
from __future__ import annotations

STRICT = "set -euo pipefail\numask 077\n"

INSTALL_STDIN = r'''
# install_stdin DEST MODE: write stdin to DEST (MODE) only when it differs; prints "changed" or "unchanged".
# A file with the right content but a looser mode (a password file made 0644 by hand) is put back to MODE.
install_stdin() {
  local dest=$1 mode=$2 tmp
  tmp=$(mktemp "${dest}.XXXXXX")
  cat > "$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    if [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then
      echo unchanged
    else
      chmod "$mode" "$dest"
      echo changed
    fi
  else
    mv -f "$tmp" "$dest"
    echo changed
  fi
}
'''


def script(title: str, body: str) -> str:
    """A complete bash script: shebang, what it does, strict mode, the helper if the body uses it, the body."""
    helper = INSTALL_STDIN if "install_stdin" in body else ""
    return f"#!/usr/bin/env bash\n# bluemind-ha: {title}\n{STRICT}{helper}\n{body.strip()}\n"
