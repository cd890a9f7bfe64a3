"""libiscsi, the userspace iSCSI initiator, for tests against tgtd (this kernel has no iSCSI initiator).

The command-line tools of libiscsi-bin (iscsi-ls, iscsi-inq, iscsi-readcapacity16) cover discovery, login
and inquiry. Debian ships no iscsi-dd, so block reads and writes go through the same library the tools
use, libiscsi.so.7, with ctypes: a `Session` is one real iSCSI login (CHAP included) to one LUN, and a
`HeldSession` is one kept open by a child process while a test acts on the target.

CHAP secrets travel in the environment (LIBISCSI_CHAP_PASSWORD, and LIBISCSI_CHAP_TARGET_USERNAME/_PASSWORD for
mutual CHAP), never in a URL on a command line.
Tools and held sessions run on this machine, or inside a host that has a `command(argv) -> argv` (a
PrivateHost, whose target only its own loopback reaches).
"""
from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys
from dataclasses import dataclass

TOOL_TIMEOUT_S = 15
# A held session is killed after this long even if the test process dies without closing it.
HOLD_MAX_S = 120
BLOCK_SIZE = 512
ISCSI_SESSION_NORMAL = 2
SCSI_STATUS_GOOD = 0
ISCSI_HEADER_DIGEST_CRC32C = 3  # libiscsi's enum iscsi_header_digest: CRC32C offered alone, as iscsid.conf does
MUTUAL_ENV = ("LIBISCSI_CHAP_TARGET_USERNAME", "LIBISCSI_CHAP_TARGET_PASSWORD")


@dataclass(frozen=True)
class Initiator:
    """Who logs in: an initiator IQN, and the CHAP user and secret it offers (None: no CHAP); for mutual CHAP, the
    user and secret the target must answer its challenge with (None: the target is not asked to prove itself);
    `header_digest`: CRC32C header digests offered alone (a target that refuses them gets no login)."""

    iqn: str
    chap_user: str | None = None
    chap_password: str | None = None
    mutual_user: str | None = None
    mutual_password: str | None = None
    header_digest: bool = False

    def one_way(self) -> Initiator:
        """The same initiator without mutual CHAP: it does not ask the target to prove itself."""
        return Initiator(self.iqn, self.chap_user, self.chap_password, header_digest=self.header_digest)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("LIBISCSI_CHAP_PASSWORD", *MUTUAL_ENV)}
        if self.chap_password is not None:
            env["LIBISCSI_CHAP_PASSWORD"] = self.chap_password
        if self.mutual_user is not None:
            env.update(zip(MUTUAL_ENV, (self.mutual_user, self.mutual_password or ""), strict=True))
        return env

    def url(self, portal: str, target: str | None = None, lun: int | None = None) -> str:
        user = f"{self.chap_user}@" if self.chap_user else ""
        path = f"/{target}/{lun}" if target is not None else ""
        return f"iscsi://{user}{portal}{path}"

    def run(self, tool: str, url: str, *args: str, host=None, debug: int = 0) -> subprocess.CompletedProcess:
        argv = [tool, "-i", self.iqn, *args, url]
        env = self.env() | ({"LIBISCSI_DEBUG": str(debug)} if debug else {})
        return subprocess.run(host.command(argv) if host else argv, env=env, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT_S)

    def login_reply(self, portal: str, target: str, lun: int, host=None) -> dict[str, str]:
        """The keys the target answered the login with (HeaderDigest, DataDigest...), as libiscsi logs them at
        debug level 6; fails when the login does."""
        result = self.run("iscsi-inq", self.url(portal, target, lun), host=host, debug=6)
        assert result.returncode == 0, result.stderr[-2000:]
        return dict(re.findall(r"TargetLoginReply: (\w+)=(\S+)", result.stderr))


def _libiscsi() -> ctypes.CDLL:
    lib = ctypes.CDLL("libiscsi.so.7")
    p, i, u32, u64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_uint64
    lib.iscsi_create_context.restype = p
    lib.iscsi_create_context.argtypes = [ctypes.c_char_p]
    lib.iscsi_set_targetname.argtypes = [p, ctypes.c_char_p]
    lib.iscsi_set_session_type.argtypes = [p, i]
    lib.iscsi_set_initiator_username_pwd.argtypes = [p, ctypes.c_char_p, ctypes.c_char_p]
    lib.iscsi_set_target_username_pwd.argtypes = [p, ctypes.c_char_p, ctypes.c_char_p]
    lib.iscsi_set_header_digest.argtypes = [p, i]
    lib.iscsi_full_connect_sync.argtypes = [p, ctypes.c_char_p, i]
    lib.iscsi_get_error.restype = ctypes.c_char_p
    lib.iscsi_get_error.argtypes = [p]
    # struct scsi_task *iscsi_write16_sync(iscsi, lun, lba, data, datalen, blocksize,
    #                                      wrprotect, dpo, fua, fua_nv, group_number)
    lib.iscsi_write16_sync.restype = p
    lib.iscsi_write16_sync.argtypes = [p, i, u64, ctypes.c_char_p, u32, i, i, i, i, i, i]
    # struct scsi_task *iscsi_read16_iov_sync(iscsi, lun, lba, datalen, blocksize, rdprotect, dpo, fua,
    #                                         fua_nv, group_number, struct scsi_iovec *iov, int niov)
    lib.iscsi_read16_iov_sync.restype = p
    lib.iscsi_read16_iov_sync.argtypes = [p, i, u64, u32, i, i, i, i, i, i, p, i]
    lib.scsi_task_get_status.argtypes = [p, p]  # (task, struct scsi_sense *or NULL) -> SCSI status
    lib.scsi_free_scsi_task.argtypes = [p]  # what the header's scsi_free_task() macro calls
    lib.iscsi_logout_sync.argtypes = [p]
    lib.iscsi_destroy_context.argtypes = [p]
    return lib


class _ScsiIovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class LoginRefused(RuntimeError):
    pass


class Session:
    """One logged-in iSCSI session to one LUN, as a context manager."""

    def __init__(self, initiator: Initiator, portal: str, target: str, lun: int):
        self.lib = _libiscsi()
        self.lun = lun
        self.ctx = self.lib.iscsi_create_context(initiator.iqn.encode())
        if not self.ctx:
            raise RuntimeError("iscsi_create_context failed")
        self.lib.iscsi_set_targetname(self.ctx, target.encode())
        self.lib.iscsi_set_session_type(self.ctx, ISCSI_SESSION_NORMAL)
        if initiator.chap_user:
            self.lib.iscsi_set_initiator_username_pwd(self.ctx, initiator.chap_user.encode(),
                                                      (initiator.chap_password or "").encode())
        if initiator.mutual_user:
            self.lib.iscsi_set_target_username_pwd(self.ctx, initiator.mutual_user.encode(),
                                                   (initiator.mutual_password or "").encode())
        if initiator.header_digest:
            self.lib.iscsi_set_header_digest(self.ctx, ISCSI_HEADER_DIGEST_CRC32C)
        if self.lib.iscsi_full_connect_sync(self.ctx, portal.encode(), lun) != 0:
            error = self.lib.iscsi_get_error(self.ctx).decode(errors="replace")
            self.lib.iscsi_destroy_context(self.ctx)
            raise LoginRefused(error)

    def write(self, lba: int, data: bytes) -> None:
        assert len(data) % BLOCK_SIZE == 0
        # FUA: the target writes through to the backing store before it answers.
        task = self.lib.iscsi_write16_sync(self.ctx, self.lun, lba, data, len(data), BLOCK_SIZE, 0, 0, 1, 0, 0)
        self._check(task, "WRITE(16)")

    def read(self, lba: int, length: int) -> bytes:
        buffer = ctypes.create_string_buffer(length)
        iov = _ScsiIovec(ctypes.cast(buffer, ctypes.c_void_p), length)
        task = self.lib.iscsi_read16_iov_sync(self.ctx, self.lun, lba, length, BLOCK_SIZE, 0, 0, 1, 0, 0,
                                              ctypes.byref(iov), 1)
        self._check(task, "READ(16)")
        return buffer.raw

    def _check(self, task, command: str) -> None:
        if not task:
            raise RuntimeError(f"{command} failed: {self.lib.iscsi_get_error(self.ctx).decode(errors='replace')}")
        status = self.lib.scsi_task_get_status(task, None)
        self.lib.scsi_free_scsi_task(task)
        if status != SCSI_STATUS_GOOD:
            raise RuntimeError(f"{command} returned SCSI status {status}")

    def close(self) -> None:
        if self.ctx:
            self.lib.iscsi_logout_sync(self.ctx)
            self.lib.iscsi_destroy_context(self.ctx)
            self.ctx = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class HeldSession:
    """A Session to one LUN kept open by a child process (inside `host`, if given), so that the target has an
    initiator logged in while the test acts on it. `read()` does real I/O through it."""

    def __init__(self, initiator: Initiator, portal: str, target: str, lun: int, host=None):
        # This file is the child's program (it needs nothing outside the standard library).
        argv = [sys.executable, __file__, initiator.iqn, initiator.chap_user or "", portal, target, str(lun),
                "crc32c" if initiator.header_digest else "none"]
        self.process = subprocess.Popen(["timeout", "-s", "KILL", str(HOLD_MAX_S), *(host.command(argv) if host else argv)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=initiator.env(), start_new_session=True)
        if self.process.stdout.readline().strip() != "logged in":
            self.close()
            raise LoginRefused(self.error)

    def read(self) -> bool:
        """Whether a READ through the held session still succeeds."""
        try:
            self.process.stdin.write("read\n")
            self.process.stdin.flush()
        except BrokenPipeError:  # the child is gone: its error is in close()
            return False
        return self.process.stdout.readline().strip() == "read ok"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # the child logs out on end of input
            try:
                self.process.wait(timeout=TOOL_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.error = self.process.stderr.read()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()

    def __enter__(self) -> HeldSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _hold(iqn: str, chap_user: str, portal: str, target: str, lun: str, digest: str) -> None:
    """The child of a HeldSession: log in, say so, then one READ per line of input until its end."""
    mutual_user, mutual_password = (os.environ.get(name) for name in MUTUAL_ENV)
    initiator = Initiator(iqn, chap_user or None, os.environ.get("LIBISCSI_CHAP_PASSWORD"), mutual_user,
                          mutual_password, header_digest=digest == "crc32c")
    try:
        session = Session(initiator, portal, target, int(lun))
    except LoginRefused as refused:
        sys.exit(f"login refused: {refused}")
    print("logged in", flush=True)
    with session:
        for _ in sys.stdin:
            session.read(0, BLOCK_SIZE)
            print("read ok", flush=True)


if __name__ == "__main__":
    _hold(*sys.argv[1:])
