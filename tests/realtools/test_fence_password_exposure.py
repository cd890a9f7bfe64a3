"""Issue 18 item 5, the evidence behind the README's decision on `hidepid` ("Security model"): where the BMC
password of a rendered fence device shows in the process table while fence_ipmilan runs.

fence_ipmilan gets the device's parameters on stdin (as pacemaker's fencer passes them) and reads the password
from its `password_script` (a root-only file); it then starts ipmitool with `-P <password>` on its command line
(fence-agents 4.12, Debian 12: no -E or -f). ipmitool overwrites that argument with X's as soon as it has parsed
its options. Here: the rendered parameters, a BMC address where nothing answers (ipmitool waits, retrying), and
every process's /proc/<pid>/cmdline read again and again meanwhile, as a local user could. The password never
shows on fence_ipmilan's command line nor anywhere else but ipmitool's, and ipmitool is seen with `-P XXXX...`.
In the instant between ipmitool's exec and its option parsing the password DOES show (this loop catches it in
some runs): that is what hidepid=2 would close, and the README ("Security model") says why the
nodes do without it.
"""
from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path

from components.render.cib import fence_parameters
from components.render.fence_preflight import agent_stdin
from tests.conftest import require_tool
from tools.ipmisim import free_udp_port
from tools.stackfile import load_settings

WATCH_S = 4


def _command_lines() -> list[str]:
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass  # gone meanwhile
    return lines


def test_the_bmc_password_shows_only_on_ipmitools_command_line_until_it_masks_it(tmp_path):
    require_tool("fence_ipmilan", "ipmitool")
    s = load_settings("prod")
    password = "bmha" + secrets.token_hex(8)
    password_file = tmp_path / "bmc-password"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    params = dict(fence_parameters(s, s.nodes[1]))  # the CIB's device that fences the second node
    assert params["password_script"].startswith("cat ") and "password" not in params  # never in the CIB
    params |= {"ip": "127.0.0.1", "ipport": str(free_udp_port()), "password_script": f"cat {password_file}"}
    agent = subprocess.Popen(["timeout", "30", "fence_ipmilan"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, text=True)
    agent.stdin.write(agent_stdin(list(params.items()), "status"))
    agent.stdin.close()
    seen_masked, shown, window = False, [], 0
    deadline = time.monotonic() + WATCH_S
    try:
        while time.monotonic() < deadline and agent.poll() is None:
            for line in _command_lines():
                ipmitool = line.startswith("/usr/bin/ipmitool ")
                if password in line and ipmitool:
                    window += 1  # exec to option parsing: only hidepid=2 would hide it
                elif password in line:
                    shown.append(line.replace(password, "<the password>"))
                if ipmitool and " -P X" in line:
                    seen_masked = True
    finally:
        agent.kill()
        agent.wait()
    assert not shown, shown
    assert seen_masked, "ipmitool was never seen with its -P argument masked"
    print(f"the password was caught on ipmitool's command line {window} times before ipmitool masked it")
