"""The cold start runbook's quorum step with a real corosync (issue 17, item 4): one node of a fenced stack
started alone after a cold start is not quorate (two_node implies wait_for_all), and `corosync-quorumtool
-e 1`, as the `cold_start` output says, makes it quorate alone.

The rendered corosync.conf of the lab stack (one link, two_node) runs as it is, in a network namespace
(`rebuild-cq`, removed afterwards) holding only the first node's address, with a private mount namespace
over corosync's directories, /run and /dev/shm: nothing of this machine is written."""
from __future__ import annotations

import subprocess

from components.render.corosync import render_corosync
from components.render.recovery import cold_start_runbook
from tests.conftest import require_root, require_tool
from tests.stacks import settings_of

NETNS = "rebuild-cq"

ALONE = r"""
set -eu
for d in /etc/corosync /var/lib/corosync /var/log/corosync /run /dev/shm; do mount -t tmpfs tmpfs "$d"; done
cat > /etc/corosync/corosync.conf
corosync-keygen -k /etc/corosync/authkey >/dev/null 2>&1
corosync -f >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
# corosync-quorumtool -s: exit 0 quorate, 2 not quorate, 1 while corosync does not answer yet.
for _ in $(seq 1 60); do
  rc=0
  corosync-quorumtool -s >/dev/null 2>&1 || rc=$?
  [ "$rc" = 1 ] || break
  sleep 0.5
done
echo "=== alone"
corosync-quorumtool -s || echo "exit $?"
corosync-quorumtool -e 1
sleep 2
echo "=== expected 1"
corosync-quorumtool -s || echo "exit $?"
"""


def test_a_node_started_alone_after_a_cold_start_is_quorate_only_after_expected_votes_1():
    require_root()
    require_tool("corosync", "corosync-quorumtool", "corosync-keygen", "ip", "unshare")
    s = settings_of("lab")
    assert "corosync-quorumtool -e 1" in cold_start_runbook(s)
    node = s.nodes[0]
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        # The node's address on the namespace's loopback: corosync finds its node by it; no peer answers.
        for args in (["link", "set", "lo", "up"], ["addr", "add", f"{node.ip}/{s.network.prefix}", "dev", "lo"]):
            subprocess.run(["ip", "-n", NETNS, *args], check=True)
        result = subprocess.run(
            ["ip", "netns", "exec", NETNS, "unshare", "--mount", "--propagation", "private", "bash", "-c", ALONE],
            input=render_corosync(s), capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr
    alone, expected_1 = result.stdout.split("=== alone")[1].split("=== expected 1")
    assert "Quorate:          No" in alone and "WaitForAll" in alone and "exit 2" in alone, alone
    assert "Quorate:          Yes" in expected_1 and "exit" not in expected_1, expected_1
