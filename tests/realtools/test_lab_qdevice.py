"""The lab's qdevice profile (lab/qnetd.py, `python -m lab.run --quick --qdevice`): corosync-qnetd in a third
namespace with the certificates of the program's own steps, corosync-qdevice on both nodes. Its CI subset (a
crash of the active node, a cut cable, the arbitrator down then the passive node crashing) loses no row, never
double-mounts, fences only the node it must, and recovers."""
from __future__ import annotations

from components.render import qdevice_scripts
from lab import qnetd
from tests.conftest import require_root, require_tool
from tests.realtools.lab_runner import LAB_TOOLS, run_lab

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
    output = run_lab("--quick", "--qdevice", timeout_s=QUICK_TIMEOUT_S)
    assert "qnetd-down" in output and "PASS" in output


def test_the_split_check_reads_the_cut_sides_logs_from_its_peers_loss(tmp_path):
    """Before the cut side sees its peer gone it may finish a transition of the joined cluster (starts on the
    rejoined node); after it, a fence request or a start is a failure. Its quorum loss may never reach its logs:
    the fence can power it off first (the lab's fourth run)."""
    import datetime

    corosync = tmp_path / "corosync.log"
    corosync.write_text("Dec 01 08:21:43 [16152] lab2 corosync notice  [TOTEM ] A new membership (2.16) was formed. "
                        "Members left: 1\n")
    pacemaker = tmp_path / "pacemaker.log"
    pacemaker.write_text("Dec 01 08:21:37.413 lab2 pacemaker-controld  [16205] (execute_rsc_action) notice: "
                         "Initiating start operation ping:1_start_0 on lab1\n")
    since = datetime.datetime(datetime.date.today().year, 12, 1, 8, 21, 36).timestamp()
    entries = [e for log in (pacemaker, corosync) for e in qnetd.log_lines_between(log, since, since + 13)]
    assert len(entries) == 2 and qnetd.cut_side_problems(entries) == []
    late = (since + 9, "Dec 01 08:21:45.000 lab2 pacemaker-controld [1] notice: Requesting fencing (reboot) of node lab1")
    assert qnetd.cut_side_problems(entries + [late])[0].startswith("acted:")
    assert qnetd.log_lines_between(corosync, since + 60, since + 70) == []
