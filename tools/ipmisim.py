"""Run one simulated BMC (OpenIPMI's `ipmi_sim`) that fence_ipmilan and ipmitool can talk to over IPMI/LAN.

    from tools.ipmisim import Bmc, power_file_script

    script = power_file_script(workdir / "bm1-power.sh", workdir / "bm1.power")   # optional helper
    with Bmc(workdir, address="127.0.0.1", port=free_udp_port(), username="admin", password="secret",
             chassis_script=script) as bmc:
        ...  # fence_ipmilan --ip {bmc.address} --ipport {bmc.port} --lanplus --cipher 3 ...

`Bmc` writes `lan.conf` and `bmc.emu` into its own directory under `workdir`, starts `ipmi_sim` in its own
process group, returns only once the BMC answers an authenticated IPMI request, and on exit (also on error)
kills the process group and removes that directory. `command_prefix` runs it elsewhere, e.g.
`["ip", "netns", "exec", "lab-bmc1"]` to bind an address that exists only inside a network namespace; the
readiness probe then runs with the same prefix.

The chassis script is called by ipmi_sim as `SCRIPT 0x20 get power` (must print `power:1` or `power:0`) and
`SCRIPT 0x20 set power 0|1`. Anything else (boot device, ...) should exit 0 and print nothing.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

# ipmi_sim does not answer "Get Channel Cipher Suites": a client must name the suite or stall ~15 s.
# Suite 3 = RAKP-HMAC-SHA1 / HMAC-SHA1-96 / AES-CBC-128, the one the project pins (cluster.ipmi_cipher).
PROBE_CIPHER = 3
BMC_MC_ADDRESS = "0x20"


def free_udp_port(address: str = "127.0.0.1") -> int:
    """A UDP port the kernel considers free on `address` right now (IPMI/LAN is UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def power_file_script(path: Path | str, state_file: Path | str, initial: int = 1,
                      history_file: Path | str | None = None) -> Path:
    """Write a chassis-control script keeping the power state (`1`/`0`) in `state_file`; return its path.

    With `history_file`, every power change is also appended to it as a line `0` or `1`, so a caller can
    tell a real off-then-on (a reboot) from no change at all."""
    path, state_file = Path(path), Path(state_file)
    state_file.write_text(f"{initial}\n")
    history = "/dev/null" if history_file is None else str(history_file)
    if history_file is not None:
        Path(history_file).write_text("")
    path.write_text(f"""#!/bin/sh
# ipmi_sim chassis control: $1 = MC address, $2 = get|set, then item [value] pairs.
state={_sh_quote(str(state_file))}
history={_sh_quote(history)}
case "$2" in
  get) [ "$3" = power ] && printf 'power:%s\\n' "$(cat "$state")" ;;
  set) [ "$3" = power ] && printf '%s\\n' "$4" > "$state" && printf '%s\\n' "$4" >> "$history" ;;
esac
exit 0
""")
    path.chmod(0o755)
    return path


def read_power(state_file: Path | str) -> int:
    """The power state a `power_file_script` keeps: 1 (on) or 0 (off)."""
    return int(Path(state_file).read_text().strip())


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _conf_quote(text: str) -> str:
    if '"' in text or "\n" in text:
        raise ValueError(f"ipmi_sim config values cannot contain quotes or newlines: {text!r}")
    return f'"{text}"'


class BmcNotReady(RuntimeError):
    """ipmi_sim exited or did not answer in time; the message carries its log."""


class Bmc:
    """One ipmi_sim BMC, as a context manager. Attributes: address, port, username, password, directory."""

    def __init__(self, workdir: Path | str, *, address: str = "127.0.0.1", port: int, username: str,
                 password: str, chassis_script: Path | str, command_prefix: Sequence[str] = (),
                 start_timeout: float = 10.0, max_lifetime_s: int | None = None):
        """`max_lifetime_s` kills ipmi_sim after that long even if this process dies without cleaning up
        (tests set it; a long-running lab may leave it None)."""
        # ipmi_sim limits: user name 16 bytes, password 20 bytes (IPMI v2.0).
        if len(username.encode()) > 16 or len(password.encode()) > 20:
            raise ValueError("IPMI limits user names to 16 and passwords to 20 bytes")
        self.address, self.port, self.username, self.password = address, port, username, password
        self.chassis_script = Path(chassis_script)
        self.command_prefix = list(command_prefix)
        self.start_timeout = start_timeout
        self.max_lifetime_s = max_lifetime_s
        self.directory = Path(workdir) / f"ipmisim-{address}-{port}"
        self.process: subprocess.Popen | None = None

    # -- files ------------------------------------------------------------------------------------------
    def lan_conf(self) -> str:
        return "\n".join([
            'name "bluemind-ha-sim"',
            f"set_working_mc {BMC_MC_ADDRESS}",
            "startlan 1",
            f"  addr {self.address} {self.port}",
            "  priv_limit admin",
            "  allowed_auths_callback none md2 md5 straight",
            "  allowed_auths_user none md2 md5 straight",
            "  allowed_auths_operator none md2 md5 straight",
            "  allowed_auths_admin none md2 md5 straight",
            "  guid a123456789abcdefa123456789abcdef",
            "endlan",
            f"chassis_control {_conf_quote(f'{self.chassis_script} {BMC_MC_ADDRESS}')}",
            f"user 2 true {_conf_quote(self.username)} {_conf_quote(self.password)} operator 10 none md2 md5 straight",
            "",
        ])

    @staticmethod
    def bmc_emu() -> str:
        return (f"mc_setbmc {BMC_MC_ADDRESS}\n"
                f"mc_add {BMC_MC_ADDRESS} 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n"
                f"mc_enable {BMC_MC_ADDRESS}\n")

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> Bmc:
        if self.directory.exists():
            shutil.rmtree(self.directory)
        (self.directory / "state").mkdir(parents=True)
        lan_conf = self.directory / "lan.conf"
        lan_conf.write_text(self.lan_conf())
        lan_conf.chmod(0o600)  # holds the password
        (self.directory / "bmc.emu").write_text(self.bmc_emu())
        lifetime = [] if self.max_lifetime_s is None else ["timeout", "-s", "KILL", str(self.max_lifetime_s)]
        with open(self.directory / "ipmi_sim.log", "wb") as log:
            self.process = subprocess.Popen(
                [*self.command_prefix, *lifetime, "ipmi_sim", "-c", str(lan_conf), "-f",
                 str(self.directory / "bmc.emu"), "-n", "-s", str(self.directory / "state")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def answers(self) -> bool:
        """True if the BMC accepts our credentials and answers Get Device ID (password via env, not argv)."""
        probe = [*self.command_prefix, "ipmitool", "-I", "lanplus", "-C", str(PROBE_CIPHER), "-H", self.address,
                 "-p", str(self.port), "-U", self.username, "-E", "-N", "1", "-R", "1", "mc", "info"]
        try:
            result = subprocess.run(probe, env={**os.environ, "IPMI_PASSWORD": self.password},
                                    capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BmcNotReady(f"ipmi_sim exited with {self.process.returncode}:\n{self.log()}")
            if self.answers():
                return
            time.sleep(0.1)
        raise BmcNotReady(f"ipmi_sim on {self.address}:{self.port} did not answer within "
                          f"{self.start_timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return (self.directory / "ipmi_sim.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Kill ipmi_sim's process group (TERM, then KILL after 3 s) and remove this BMC's directory."""
        if self.process is not None:
            for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 3)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Bmc:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
