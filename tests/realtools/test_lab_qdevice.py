"""The lab's qdevice profile (lab/qnetd.py, `python -m lab.run --quick --qdevice`): corosync-qnetd in a third
namespace with the certificates of the program's own steps, corosync-qdevice on both nodes. Its CI subset (a
crash of the active node, a cut cable, the arbitrator down then the passive node crashing) loses no row, never
double-mounts, fences only the node it must, and recovers."""
from __future__ import annotations

import signal
import subprocess
import sys

from components.render import qdevice_scripts
from lab import qnetd
from tests.conftest import ROOT, require_root, require_tool
from tests.realtools.test_lab import LAB_TOOLS

QUICK_TIMEOUT_S = 300  # about 3 minutes on an idle machine; CI's budget for it is 4
QDEVICE_TOOLS = ("corosync-qnetd", "corosync-qdevice", "corosync-quorumtool", "corosync-qnetd-certutil",
                 "corosync-qdevice-net-certutil", "certutil", "ss")


def test_the_profile_is_the_lab_stack_with_an_arbitrator_and_its_steps_run_without_apt_or_systemd():
    s = qnetd.load_settings(qnetd.STACK)
    assert s.qdevice.ip == qnetd.ARBITRATOR["ip"] and s.policy.quorum_device and not s.policy.two_node
    for script in (qdevice_scripts.qnetd(s, qdevice_scripts.LAB_PARTS),
                   qdevice_scripts.qdevice_request(s, s.nodes[0], qdevice_scripts.LAB_PARTS),
                   qdevice_scripts.qdevice_cert(s, s.nodes[0], qdevice_scripts.LAB_PARTS)):
        assert "apt-get" not in script and "systemctl" not in script
    # The program's own rendering keeps them.
    assert "systemctl enable" in qdevice_scripts.qnetd(s) and "apt-get install" in qdevice_scripts.qdevice_request(s, s.nodes[0])


def test_quick_qdevice_lab_loses_nothing_and_recovers():
    require_root()
    require_tool(*LAB_TOOLS, *QDEVICE_TOOLS)
    lab = subprocess.Popen([sys.executable, "-m", "lab.run", "--quick", "--qdevice"], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = lab.communicate(timeout=QUICK_TIMEOUT_S)
    except subprocess.TimeoutExpired as timed_out:
        lab.send_signal(signal.SIGTERM)  # lab.run tears its lab down on SIGTERM
        output, _ = lab.communicate(timeout=120)
        raise AssertionError(f"the quick qdevice lab took longer than {QUICK_TIMEOUT_S} s:\n{output}") from timed_out
    finally:
        if lab.poll() is None:
            lab.kill()
        subprocess.run([sys.executable, "-m", "lab.run", "--teardown"], cwd=ROOT, timeout=120)
    assert lab.returncode == 0, output
    assert "qnetd-down" in output
