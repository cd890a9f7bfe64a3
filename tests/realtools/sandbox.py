"""Run a rendered node script as root, for real, where the absolute paths it writes are the test's own.

The script runs in a private mount namespace (`unshare --mount`, private propagation: no mount leaks back to
this machine) in which:
- `binds` puts a test directory in place of an existing path (/root, /etc/ssh);
- `overlays` keeps a path's content as this machine has it, but every write to it lands in a test
  directory, its writable layer: the script sees Debian's /etc (login.defs, PAM, the hacluster user the
  pacemaker package created) and may create what does not exist here (/etc/bluemind-ha) or replace a file by
  rename (chpasswd on /etc/shadow), and the machine's own files are never touched;
- `hostname`: a private UTS namespace where the host is that node (corosync finds its own node by name);
- `private_network`: a network namespace of its own, so nothing the script runs can reach a daemon of this
  machine (corosync-cfgtool talks to a running corosync through abstract sockets).
"""
from __future__ import annotations

import dataclasses
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

TIME_LIMIT_S = 30


def overlay_work_dir(upper: Path) -> Path:
    """overlayfs' scratch directory: empty, beside the writable layer (same filesystem)."""
    return upper.with_name(upper.name + ".overlay-work")


@dataclasses.dataclass(frozen=True)
class Sandbox:
    binds: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    overlays: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    hostname: str | None = None
    private_network: bool = False

    def command(self, *argv: str) -> list[str]:
        """`argv`, run inside the sandbox."""
        setup = [f"mount --bind {shlex.quote(str(source))} {shlex.quote(path)}" for path, source in self.binds.items()]
        for path, upper in self.overlays.items():
            work = overlay_work_dir(upper)
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(exist_ok=True)
            setup.append("mount -t overlay overlay -o " +
                         shlex.quote(f"lowerdir={path},upperdir={upper},workdir={work}") + " " + shlex.quote(path))
        if self.hostname:
            setup.append(f"hostname {shlex.quote(self.hostname)}")
        flags = ["--uts"] * bool(self.hostname) + ["--net"] * self.private_network
        return ["unshare", "--mount", "--propagation", "private", *flags, "sh", "-c",
                " && ".join([*setup, 'exec "$@"']), "sandbox", *argv]

    def run(self, script: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess:
        """`script` run by bash in the sandbox, `stdin` on its standard input."""
        result = subprocess.run(self.command("bash", "-c", script), input=stdin, capture_output=True, text=True,
                                timeout=TIME_LIMIT_S)
        if check:
            assert result.returncode == 0, f"exit {result.returncode}: {result.stdout}{result.stderr}"
        return result
