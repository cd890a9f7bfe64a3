"""Running `python -m lab.run` from a test: bounded in time, torn down whatever happens (tests/realtools/test_lab.py,
test_lab_qdevice.py)."""
from __future__ import annotations

import signal
import subprocess
import sys

from tests.conftest import ROOT

LAB_TOOLS = ("corosync", "pacemakerd", "crm_mon", "fence_ipmilan", "ipmi_sim", "ipmitool", "corosync-keygen",
             "losetup", "mkfs.ext4", "modprobe", "nsenter", "unshare", "ip", "nft")


def run_lab(*args: str, timeout_s: int) -> str:
    """`python -m lab.run ARGS`: its output, once it exited 0; a run past `timeout_s` is stopped (SIGTERM: lab.run
    tears its lab down) and fails the test, and a stale lab is removed in any case."""
    lab = subprocess.Popen([sys.executable, "-m", "lab.run", *args], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = lab.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as timed_out:
        lab.send_signal(signal.SIGTERM)
        output, _ = lab.communicate(timeout=120)
        raise AssertionError(f"lab.run {' '.join(args)} took longer than {timeout_s} s:\n{output}") from timed_out
    finally:
        if lab.poll() is None:
            lab.kill()
        subprocess.run([sys.executable, "-m", "lab.run", "--teardown"], cwd=ROOT, timeout=120)
    assert lab.returncode == 0, output
    return output
