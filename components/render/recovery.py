"""Runbooks for a node that is out of the cluster: bringing a fenced node back (`rejoin`), starting the
cluster with one working node after both were down (`cold_start`), and a node whose host was reinstalled
or replaced (`rebuild`). Stack outputs, with the stack's own node names, addresses and BMCs.

Pure: Settings in, text out. What they rely on: corosync and pacemaker are never enabled at boot (the
cluster-packages step), so a fenced or rebooted node stays out until someone starts them; a fenced stack's
corosync has `two_node`, which implies `wait_for_all` (after a cold start nothing is quorate until both
nodes were seen once); pacemaker fences a node it has never seen before starting anything (startup
fencing). The tools are pacemaker's own (crm_mon, crm_resource, stonith_admin) and corosync's: no pcs,
no crmsh is installed.
"""
from __future__ import annotations

from components.names import GROUP_ID
from components.render.fence_preflight import ipmitool_power
from components.render.runbooks import REJOIN_TIMEOUT_S, SWITCHOVER_TIMEOUT_S, power_off_check
from components.settings import NAMESPACE, Node, Settings


def rejoin_runbook(s: Settings) -> str:
    """A node fenced (or rebooted, or stopped by hand) comes back: it boots with its cluster stack off. Check
    nothing of the group's is mounted there, start corosync and pacemaker, wait (bounded) until it is online,
    clear the group's old failures on it. The group stays where it runs (no failback)."""
    a, b = s.nodes
    power = "\n".join(
        f"#   {n.name}, from {s.peer_of(n).name}: {ipmitool_power(s, n, 'on')}" for n in s.nodes if n.bmc)
    directories = " ".join(lun.directory for lun in s.storage.luns)
    return f"""#!/bin/bash
# Bring a node back into the cluster after it was fenced (or rebooted, or stopped): run it with bash, as root,
# on that node (pulumi stack output rejoin | ssh root@<node> bash). corosync and pacemaker never start at boot,
# on purpose: a fenced node stays out until someone looked. First find out why it left, on the other node:
#   crm_mon -1 -r -f ; stonith_admin --history '*' ; journalctl -u corosync -u pacemaker --since -2h
# and on this one: journalctl -b -1 -p warning (the previous boot). A node that is still off: power it on,
# from its peer (which keeps its BMC password):
{power or "#   (no BMC in this stack: at the machine)"}
set -eu
node=$(uname -n)
if [ "$node" = {a.name} ]; then peer={b.name}; else peer={a.name}; fi
if systemctl is-active --quiet pacemaker.service; then
  echo "$node: pacemaker already runs here; crm_mon -1 shows the cluster." >&2
  exit 0
fi
# 1. Nothing of the group may be mounted here while the group runs on $peer.
for dir in {directories}; do
  if findmnt --mountpoint "$dir" >/dev/null; then
    echo "$dir is mounted on $node outside the cluster: unmount it (umount $dir) before it rejoins" >&2
    exit 1
  fi
done
# 2. Start the cluster stack and wait until the cluster sees this node online.
systemctl start corosync.service pacemaker.service
deadline=$((SECONDS + {REJOIN_TIMEOUT_S}))
until crm_mon -1 --output-as=xml 2>/dev/null | grep -q "<node name=\\"$node\\"[^>]* online=\\"true\\""; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "$node is not online after {REJOIN_TIMEOUT_S}s. Next: corosync-cfgtool -s (links), corosync-quorumtool -s," \\
      "and compare the authkey with $peer: sha256sum /etc/corosync/authkey on both nodes" >&2
    exit 1
  fi
  sleep 5
done
# 3. Forget the group's old failures on this node, so it may run here again.
crm_resource --cleanup --resource {GROUP_ID} --node "$node"
crm_mon -1
echo "$node is back. BlueMind stays where it runs (no failback); to move it: pulumi stack output switchover."
"""


def _cold_start(s: Settings, broken: Node, working: Node) -> str:
    quorum = (f"""# 3. After a cold start corosync waits for both nodes (two_node implies wait_for_all): {working.name} is not
#    quorate and nothing starts. corosync-quorumtool -s shows "Quorate: No" and the flags "2Node WaitForAll".
#    Expected votes 1: {working.name} is quorate alone, and the wait for all is over.
corosync-quorumtool -e 1
# 4. Pacemaker fences {broken.name} before it starts anything (it has not seen it since the start): through its
#    BMC (a reboot; {broken.name} then boots with its cluster stack off and stays out). crm_mon -1 showing
#    "{broken.name}: UNCLEAN (offline)" for more than a minute means its fencing cannot complete (a BMC without
#    power): then, and only because you saw it off in step 1, tell the cluster it is off:
crm_mon -1
#    stonith_admin --confirm {broken.name}
""" if s.policy.two_node else f"""# 3. Without fencing a lone node is not quorate: nothing starts. Expected votes 1: {working.name} is quorate alone.
corosync-quorumtool -e 1
# 4. Clear the group's old failures; pacemaker starts it on {working.name}.
crm_resource --cleanup --resource {GROUP_ID}
""")
    return f"""## {broken.name} cannot start; run on {working.name}, as root
# 1. Make sure {broken.name} is off and stays off:
{power_off_check(s, broken)}
# 2. Start the cluster stack here (never started at boot):
systemctl start corosync.service pacemaker.service
{quorum}# 5. Wait (bounded) until the group runs, and look:
crm_resource --wait --timeout={SWITCHOVER_TIMEOUT_S}s
crm_mon -1 -r
# When {broken.name} is repaired: pulumi stack output rejoin (run on {broken.name}); once it is a member again,
# expected votes return to 2 by themselves.
"""


def cold_start_runbook(s: Settings) -> str:
    """Both nodes were down (power cut, maintenance) and only one can start. One section per node."""
    a, b = s.nodes
    return ("# Cold start with one working node: both nodes were down and only one can start again.\n"
            "# Never on both nodes at once, and never while the other may be running.\n\n"
            + _cold_start(s, b, a) + "\n" + _cold_start(s, a, b))


def lab_root_volume_urn(s: Settings, node: Node) -> str:
    """The URN of a lab VM's root volume (components/hosts.py, under the deployment named in
    components/program.py): replacing it rebuilds the VM from the base image."""
    types = "bluemind-ha:index:Deployment$bluemind-ha:hosts:LibvirtLab$libvirt:index/volume:Volume"
    return f"urn:pulumi:{s.stack}::{NAMESPACE}::{types}::bluemind-lab-{node.name}-root"


def _as_root(node: Node) -> str:
    """ssh to the node, running bash as root (through sudo for an SSH user other than root)."""
    return f"ssh root@{node.ip} bash" if node.ssh_user == "root" else f"ssh {node.ssh_user}@{node.ip} sudo bash"


def rebuild_runbook(s: Settings) -> str:
    """A node whose host was reinstalled or replaced: the steps to bring it back under the stack. Steps run
    only when their inputs change: raising its nodes[].generation re-runs every one of them."""
    existing = s.host_kind == "existing"
    sections = []
    for node in s.nodes:
        peer = s.peer_of(node)
        index = s.nodes.index(node)
        key = (f"""# 2. Its new SSH host key: read it, compare it with the one shown at {node.name}'s console
#    (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), then put it in nodes[{index}].ssh_host_key:
ssh-keyscan -t ed25519 {node.ip}
""" if existing else """# 2. Its SSH host key is the stack's own (cloud-init installs it again): nothing to change.
""")
        up = "pulumi up" if existing else (
            "# The VM rebuilt from the base image (a new root disk, hence a new domain), then every step of it:\n"
            f"pulumi up --replace '{lab_root_volume_urn(s, node)}'")
        bmc = (f"""#    A replaced server has a new BMC: its address in nodes[{index}].bmc, and its password:
#    pulumi config set --secret bluemind-ha:{node.bmc.password_key} '<BMC password>'
""" if node.bmc and existing else "")
        reinstall = (f"Reinstall Debian 12 with the same name ({node.name}),\n#    address ({node.ip}) and SSH "
                     f"access (see \"What the hosts need\")." if existing else "The VM itself is rebuilt in step 4.")
        sections.append(f"""## {node.name} was reinstalled or replaced
# 1. Out of the cluster: the group runs on {peer.name} (if {node.name} died it was fenced; if you take it down,
#    first on {node.name}: crm_attribute --node {node.name} --name standby --update on, then
#    systemctl stop pacemaker.service corosync.service). {reinstall}
{key}# 3. In stacks/Pulumi.{s.stack}.yaml, raise nodes[{index}].generation by one (now {node.generation}):
#      generation: {node.generation + 1}
{bmc}# 4. Review: every step of {node.name} runs again, in place, and nothing of {peer.name}'s (whose sync-trust step
#    pins {node.name}'s new keys during the run):
make diff STACK={s.stack} BASE=HEAD
pulumi preview --diff
{up}
# 5. If you put {node.name} in standby in step 1, take it out, on either node (BlueMind stays on {peer.name}):
crm_attribute --node {node.name} --name standby --delete
# 6. Check, on both nodes:
pulumi stack output verify | {_as_root(node)}
pulumi stack output verify | {_as_root(peer)}
""")
    return ("# A node rebuilt or replaced: a plain pulumi up does nothing for it (steps run when their inputs change).\n\n"
            + "\n".join(sections))
