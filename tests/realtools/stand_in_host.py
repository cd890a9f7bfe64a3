"""A node for the package and first-install steps, run as root in a sandbox: this machine's /etc, /usr/sbin,
/var, /run and /dev under overlays (every write lands in the test's directories), and stand-ins for what
cannot run here (apt-get, dpkg-query, systemctl, hostnamectl), each logging its calls."""
from __future__ import annotations

import subprocess
from pathlib import Path

from tests.realtools.sandbox import Sandbox

# Stand-ins: each logs "<name> <args>" to $CALLS. dpkg-query answers as the test says ($BLUEMIND_INSTALLED).
STAND_INS = {
    "apt-get": '[ -x /usr/sbin/policy-rc.d ] && /usr/sbin/policy-rc.d; echo "apt-get $* (policy-rc.d: $?)" >> "$CALLS"',
    "systemctl": 'echo "systemctl $*" >> "$CALLS"',
    "hostnamectl": 'echo "hostnamectl $*" >> "$CALLS"',
    "dpkg-query": 'echo "dpkg-query $*" >> "$CALLS"; [ -n "${BLUEMIND_INSTALLED:-}" ] || exit 1\n'
                  'case "$*" in *Status*) echo -n "install ok installed" ;; *) echo -n "$BLUEMIND_INSTALLED" ;; esac',
}


class Node:
    """A node's /etc, /usr/sbin, /var, /run and /dev as this machine has them, every write landing in the
    test's directories."""

    def __init__(self, tmp: Path, **sandbox_options):
        self.tmp = tmp
        self.calls = tmp / "calls"
        self.bin = tmp / "bin"
        self.bin.mkdir(parents=True)
        for name, body in STAND_INS.items():
            (self.bin / name).write_text(f"#!/bin/bash\n{body}\n")
            (self.bin / name).chmod(0o755)
        self.sandbox = Sandbox(overlays={path: tmp / path.strip("/").replace("/", "-")
                                         for path in ("/etc", "/usr/sbin", "/var", "/run", "/dev")},
                               **sandbox_options)

    def written(self, path: str) -> Path:
        """Where the sandbox's write to `path` landed."""
        top, _, rest = path.strip("/").partition("/")
        if top == "usr":
            top, _, rest = "usr-sbin", None, rest.removeprefix("sbin/")
        return self.tmp / top / rest

    def run(self, script: str, stdin: str = "", check: bool = True, stand_ins: bool = True,
            env: str = "", before: str = "", after: str = "") -> subprocess.CompletedProcess:
        prefix = f'export CALLS={self.calls} PATH={self.bin}:$PATH {env}\n' if stand_ins else ""
        # A fresh Debian install has no policy-rc.d (container images often do: not one of a node's).
        fresh = "" if self.written("/usr/sbin/policy-rc.d").exists() else "rm -f /usr/sbin/policy-rc.d\n"
        return self.sandbox.run(f"{prefix}{fresh}{before}\n( {script}\n)\nrc=$?\n{after}\nexit $rc", stdin,
                                check=check)

    def logged(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []
