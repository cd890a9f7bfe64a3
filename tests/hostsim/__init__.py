"""A fast, fake host for the rendered host scripts (components/scripts/*.sh): the script runs under bash with
stub commands first on PATH, and every file it writes lands in the test's own directory.

- **Stubs.** Each cluster, storage and package command (`STUBBED`) is a small bash script that records its call
  (argv, and stdin when it reads a pipe) and answers from the test's scenario: a list of rules per command,
  `(glob on "$*", Reply or [Reply, ...])`, first match wins; a list answers call after call, its last reply
  repeating. A command with no matching rule exits 0 and prints nothing. Any other command (coreutils, awk,
  grep, install, python3, ...) is this machine's own.
- **Files.** The script runs in a private mount namespace (`unshare --mount`, private propagation) where
  `/etc`, `/root`, `/usr`, `/opt` and `/var` are overlays: the machine's content below, every write in a
  per-test upper directory. So the script writes the absolute paths it writes on a host, nothing of this
  machine changes, and `Run.files` lists exactly what it wrote (content, mode, owner; deletions). `files=` seeds
  what a host already holds; `ABSENT` and `absent=` hide what this machine holds and a fresh host does not
  (a whiteout). This needs root (overlay mounts), no daemon, and takes milliseconds per run.
- `block_devices=` makes those paths block devices (in an overlay of /dev).
- `mounted=` adds lines to the namespace's /proc/mounts (a tmpfs whose source is the given device).
"""
from __future__ import annotations

import dataclasses
import fnmatch
import os
import shlex
import stat
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

# The commands every run stubs; a scenario may stub more.
STUBBED = (
    "crm_resource", "crm_attribute", "cibadmin", "crm_mon", "crm_node", "crm_verify", "crm_diff", "crm_simulate",
    "corosync", "corosync-cfgtool", "corosync-quorumtool", "iscsiadm", "udevadm", "tgtadm", "tgt-admin",
    "blockdev", "apt-get", "apt-mark", "dpkg-query", "dpkg", "systemctl", "hostnamectl", "blkid", "mkfs.xfs",
    "mkfs.ext4", "mount", "umount", "ssh-keygen", "chpasswd", "bm-cli", "ip", "sleep", "fence_ipmilan",
    "ipmitool", "vgs", "vgcreate", "pvcreate", "lvs", "lvcreate", "lvextend", "xfs_growfs", "resize2fs", "vbmc",
    "virsh", "curl", "findmnt", "lsyncd", "xfs_admin", "xfs_io", "e2label",
)
# Files a fresh Debian host does not have, hidden from every run (this machine may have them).
ABSENT = ("/usr/sbin/policy-rc.d", "/etc/corosync/authkey", "/etc/corosync/corosync.conf",
          "/var/lib/pacemaker/cib/cib.xml", "/root/.ssh/authorized_keys", "/root/.ssh/bluemind-ha-sync")
OVERLAID = ("/etc", "/root", "/usr", "/opt", "/var")

TIME_LIMIT_S = 30


@dataclasses.dataclass(frozen=True)
class Reply:
    out: str = ""
    rc: int = 0
    err: str = ""
    run: str = ""  # bash run by the stub before it answers (a state change: touch a file, ...)


Rules = Sequence[tuple[str, Reply | Sequence[Reply]]]
# What a stubbed command still does for real unless a scenario says otherwise: pure computations a script
# decides on (dpkg's version comparison: a stub answering 0 would call every version lower).
PASSED_THROUGH: dict[str, Rules] = {"dpkg": [("--compare-versions *", Reply(run='exec /usr/bin/dpkg "$@"'))]}


@dataclasses.dataclass(frozen=True)
class Call:
    name: str
    args: tuple[str, ...]
    stdin: str | None

    @property
    def line(self) -> str:
        return shlex.join((self.name, *self.args))


@dataclasses.dataclass(frozen=True)
class File:
    content: bytes | None  # None: deleted
    mode: int
    uid: int
    gid: int

    @property
    def text(self) -> str:
        assert self.content is not None
        return self.content.decode()


@dataclasses.dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[Call]
    files: dict[str, File]  # absolute path -> what the script left there (seeded files included when changed)
    dirs: dict[str, File]  # absolute path -> a directory the script created or changed (content None)

    @property
    def output(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"

    def lines(self, name: str | None = None) -> list[str]:
        """Every stubbed call, as a shell line, in order (only `name`'s when given)."""
        return [c.line for c in self.calls if name is None or c.name == name]

    def called(self, pattern: str) -> bool:
        """Whether a call's line matches the glob `pattern` ("mkfs.xfs *")."""
        return any(fnmatch.fnmatchcase(c.line, pattern) for c in self.calls)


_STUB = r"""#!/bin/bash
name=%(name)s
call="$HOSTSIM_LOG/${EPOCHREALTIME/./}.$BASHPID"
mkdir "$call"
printf '%%s\0' "$name" "$@" > "$call/argv"
if ! [ -t 0 ] && ! [ /dev/stdin -ef "$HOSTSIM_STDIN" ] && ! [ /dev/stdin -ef /dev/null ]; then
  cat > "$call/stdin"
  exec < "$call/stdin"  # read again by a reply that runs the real command
fi
args="$*"
for i in "${!patterns[@]}"; do
  # shellcheck disable=SC2053 (a glob, on purpose)
  if [[ $args == ${patterns[i]} ]]; then rule=$i; break; fi
done
[ -n "${rule-}" ] || exit 0
counter="$HOSTSIM_STUBS/$name.$rule.count"
n=$(cat "$counter" 2>/dev/null || echo 0)
echo $((n + 1)) > "$counter"
k=$((n < %(name_len)s[rule] ? n : %(name_len)s[rule] - 1))
reply="$HOSTSIM_STUBS/$name.$rule.$k"
[ ! -f "$reply.run" ] || source "$reply.run"
cat "$reply.out"
cat "$reply.err" >&2
exit "$(cat "$reply.rc")"
"""


def _write_stub(stubs: Path, name: str, rules: Rules) -> None:
    match, lengths = [], []
    for i, (pattern, replies) in enumerate(rules):
        replies = [replies] if isinstance(replies, Reply) else list(replies)
        lengths.append(str(len(replies)))
        match.append(shlex.quote(pattern))
        for k, reply in enumerate(replies):
            base = stubs / f"{name}.{i}.{k}"
            base.with_name(base.name + ".out").write_text(reply.out)
            base.with_name(base.name + ".err").write_text(reply.err)
            base.with_name(base.name + ".rc").write_text(str(reply.rc))
            if reply.run:
                base.with_name(base.name + ".run").write_text(reply.run)
    var = "len_" + "".join(ch if ch.isalnum() else "_" for ch in name)
    text = _STUB % {"name": shlex.quote(name), "name_len": var}
    text = text.replace("#!/bin/bash\n", f"#!/bin/bash\n{var}=({' '.join(lengths)})\npatterns=({' '.join(match)})\n", 1)
    path = stubs / name
    path.write_text(text)
    path.chmod(0o755)


def _read_calls(log: Path) -> list[Call]:
    calls = []
    for entry in sorted(log.iterdir(), key=lambda p: tuple(int(x) for x in p.name.split("."))):
        name, *args = (entry / "argv").read_bytes().decode().split("\0")[:-1]
        stdin = entry / "stdin"
        calls.append(Call(name, tuple(args), stdin.read_text() if stdin.exists() else None))
    return calls


def _collect(upper: Path, root: str, seeded: Mapping[str, tuple[bytes | None, int]]) -> tuple[dict, dict]:
    files, dirs = {}, {}
    for dirpath, subdirs, names in os.walk(upper):
        for n in subdirs:
            p = Path(dirpath) / n
            path = root + "/" + str(p.relative_to(upper))
            st = p.lstat()
            lower = os.stat(path) if os.path.isdir(path) else None
            if lower is None or (lower.st_mode, lower.st_uid) != (st.st_mode, st.st_uid):
                dirs[path] = File(None, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        for n in names:
            p = Path(dirpath) / n
            path = root + "/" + str(p.relative_to(upper))
            st = p.lstat()
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # overlayfs whiteout: deleted
                if seeded.get(path) != (None, 0):
                    files[path] = File(None, 0, st.st_uid, st.st_gid)
            elif stat.S_ISREG(st.st_mode):
                content = p.read_bytes()
                if seeded.get(path) == (content, stat.S_IMODE(st.st_mode)):
                    continue
                files[path] = File(content, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return files, dirs


class Host:
    """A fake host: `Host(tmp_path, {"crm_node": [("-l", Reply("1 a member\n"))]}).run(script, stdin)`."""

    def __init__(self, tmp_path: Path, stubs: Mapping[str, Rules] | None = None,
                 files: Mapping[str, str | bytes | tuple[str | bytes, int]] | None = None,
                 mounted: Sequence[str] = (), absent: Sequence[str] = (), block_devices: Sequence[str] = ()) -> None:
        self.dir = tmp_path / "hostsim"
        self.dir.mkdir()
        self.stubs = self.dir / "stubs"
        self.stubs.mkdir()
        self.log = self.dir / "calls"
        self.log.mkdir()
        scenario = dict(stubs or {})
        for name in {*STUBBED, *scenario}:
            _write_stub(self.stubs, name, [*scenario.get(name, ()), *PASSED_THROUGH.get(name, ())])
        self.seeded: dict[str, tuple[bytes | None, int]] = {}
        # What this machine holds but a fresh host does not (a container's policy-rc.d): hidden by a whiteout.
        for path in (*ABSENT, *absent):
            if os.path.lexists(path) and path not in (files or {}):
                target = self._seed_path(path)
                os.mknod(target, stat.S_IFCHR | 0o000, 0)
                self.seeded[path] = (None, 0)
        for path, value in (files or {}).items():
            content, mode = value if isinstance(value, tuple) else (value, 0o644)
            content = content.encode() if isinstance(content, str) else content
            target = self._seed_path(path)
            target.write_bytes(content)
            target.chmod(mode)
            self.seeded[path] = (content, mode)
        self.mounted = list(mounted)
        self.block_devices = list(block_devices)

    def _seed_path(self, path: str) -> Path:
        top = "/" + path.split("/")[1]
        assert top in OVERLAID, f"{path}: seed files under {OVERLAID} only"
        target = self._upper(top) / path[len(top) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _upper(self, top: str) -> Path:
        return self.dir / "upper" / top.strip("/")

    def run(self, script: str, stdin: str = "") -> Run:
        setup = []
        for top in OVERLAID:
            upper, work = self._upper(top), self.dir / "work" / top.strip("/")
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(parents=True, exist_ok=True)
            setup.append("mount -t overlay overlay -o " +
                         shlex.quote(f"lowerdir={top},upperdir={upper},workdir={work}") + " " + shlex.quote(top))
        for i, device in enumerate(self.mounted):
            where = self.dir / f"mnt{i}"
            where.mkdir()
            setup.append(f"mount -t tmpfs {shlex.quote(device)} {shlex.quote(str(where))}")
        if self.block_devices:  # /dev as an overlay too, with these block devices (loop0's numbers) in it
            upper, work = self.dir / "upper-dev", self.dir / "work-dev"
            upper.mkdir(exist_ok=True)
            work.mkdir(exist_ok=True)
            setup.append(f"mount -t overlay overlay -o lowerdir=/dev,upperdir={upper},workdir={work} /dev")
            for device in self.block_devices:
                setup.append(f"mkdir -p {shlex.quote(device.rsplit('/', 1)[0])}")
                setup.append(f"{{ [ -b {shlex.quote(device)} ] || mknod {shlex.quote(device)} b 7 0; }}")
        (self.dir / "script.sh").write_text(script)
        (self.dir / "stdin").write_text(stdin)
        env = {"PATH": f"{self.stubs}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOSTSIM_LOG": str(self.log), "HOSTSIM_STUBS": str(self.stubs), "HOME": "/root",
               "LANG": "C.UTF-8", "TMPDIR": str(self.dir), "HOSTSIM_STDIN": str(self.dir / "stdin")}
        # The setup runs with this machine's PATH (the real mount), the script with the stubs first.
        command = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                   " && ".join([*setup, 'exec env PATH="$HOSTSIM_PATH" /bin/bash "$0"']),
                   str(self.dir / "script.sh")]
        with (self.dir / "stdin").open() as stdin_file:
            result = subprocess.run(command, stdin=stdin_file, capture_output=True, text=True, timeout=TIME_LIMIT_S,
                                    env={**env, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOSTSIM_PATH": env["PATH"]})
        files: dict[str, File] = {}
        dirs: dict[str, File] = {}
        for top in OVERLAID:
            f, d = _collect(self._upper(top), top, self.seeded)
            files.update(f)
            dirs.update(d)
        for path, (content, _mode) in self.seeded.items():  # a seeded file removed leaves no whiteout
            if content is not None and not self._seed_path(path).exists():
                files[path] = File(None, 0, 0, 0)
        return Run(result.returncode, result.stdout, result.stderr, _read_calls(self.log), files, dirs)
