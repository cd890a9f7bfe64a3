"""Commands an admin runs by hand: a planned switchover, taking over after the active node died, upgrading
the OS and the cluster stack one node at a time, and the checks after `pulumi up`.

Pure: Settings in, text out. The README and the stack outputs show them.
"""
from __future__ import annotations

from components.names import BLUEMIND_TARGET, GROUP_ID, HELD_PACKAGES, POLICY_RC, group_member_ids
from components.render.fence_preflight import PREFLIGHT_TIMEOUT_S, agent_stdin, fence_parameters, ipmitool_power
from components.render.shell import render
from components.services import LSYNCD
from components.settings import Node, Settings

SWITCHOVER_TIMEOUT_S = 1200  # every member's stop, then every start, of a cold BlueMind
REJOIN_TIMEOUT_S = 300  # corosync and pacemaker started by hand until the node is online in the cluster


def switchover_commands(s: Settings) -> str:
    """Move the BlueMind group to the node it is not on, wait until its last member runs there, then clear
    the move constraint (a leftover cli-prefer would pin the group and defeat the next failover)."""
    a, b = (n.name for n in s.nodes)
    before_lsyncd = group_member_ids(s)[-2]
    return f"""# Switchover: move BlueMind to the other node (run on either node, as root).
current=$(crm_resource --resource {GROUP_ID} --locate --quiet)
if [ "$current" = {a} ]; then target={b}; else target={a}; fi
crm_resource --move --resource {GROUP_ID} --node "$target"
# Wait until the group's last member ({LSYNCD.rsc_id}) runs on the target: the whole group has started.
deadline=$((SECONDS + {SWITCHOVER_TIMEOUT_S}))
until [ "$(crm_resource --resource {LSYNCD.rsc_id} --locate --quiet 2>/dev/null)" = "$target" ]; do
  [ "$SECONDS" -lt "$deadline" ] || {{ echo "not on $target after {SWITCHOVER_TIMEOUT_S}s: see crm_mon -1" >&2; break; }}
  # Everything else runs there, and lsyncd's start failed: its start-up guard refused (the peer is newer).
  refused=$(crm_failcount --query --quiet --resource {LSYNCD.rsc_id} --operation start --interval 0 \\
            --node "$target" 2>/dev/null || true)
  if [ "$(crm_resource --resource {before_lsyncd} --locate --quiet 2>/dev/null)" = "$target" ] \\
      && [ -n "$refused" ] && [ "$refused" != 0 ]; then
    echo "BlueMind runs on $target, but not the config sync: see /var/log/lsyncd/guard on $target" >&2
    break
  fi
  sleep 5
done
# Always remove the move constraint, so the cluster is free to fail over again.
crm_resource --clear --resource {GROUP_ID}
crm_mon -1
"""


def os_upgrade_runbook(s: Settings) -> str:
    """Upgrade the OS and the cluster stack (held by the cluster-packages step: no `pulumi up` and no
    BlueMind update upgrades them) one node at a time: standby the node (the group leaves it, if it ran
    there), stop its cluster stack cleanly (a clean leave is never fenced), unhold, upgrade with no service
    started, hold again, reboot if asked, rejoin, unstandby. Then the other node. Bounded waits."""
    a, b = (n.name for n in s.nodes)
    held = " ".join(HELD_PACKAGES)
    return f"""#!/bin/bash
# OS and cluster-stack upgrade, one node at a time, never both at once. Save as a file and run it with bash,
# as root, on the node being upgraded: first the passive node, then the other (its standby moves BlueMind
# away: a switchover, a short outage). The cluster packages are held ({held}):
# only this procedure upgrades them. It stops at the first failure with the node in standby, out of the
# cluster; fix the cause and run it again: it picks up where it stopped. After a reboot, run it again.
set -eu
node=$(uname -n)
if [ "$node" = {a} ]; then peer={b}; else peer={a}; fi
if systemctl is-active --quiet pacemaker.service; then
  # 1. Standby: the group leaves this node (if it ran here); wait until it runs whole on the peer.
  crm_attribute --node "$node" --name standby --update on
  deadline=$((SECONDS + {SWITCHOVER_TIMEOUT_S}))
  until [ "$(crm_resource --resource {LSYNCD.rsc_id} --locate --quiet 2>/dev/null)" = "$peer" ] \\
      && ! crm_resource --resource {GROUP_ID} --locate --quiet 2>/dev/null | grep -qx "$node"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "the group does not run whole on $peer after {SWITCHOVER_TIMEOUT_S}s: see crm_mon -1; $node stays in standby" >&2
      exit 1
    fi
    sleep 5
  done
  # 2. Leave the cluster cleanly: $peer keeps quorum alone (two_node), and a clean leave is never fenced.
  systemctl stop pacemaker.service corosync.service
fi
# 3. Upgrade everything, the cluster stack included; no package script starts a service (no LUN is mounted
#    here, and the cluster stack must stay down until it rejoins below).
if [ -e {POLICY_RC} ] && ! grep -q bluemind-ha {POLICY_RC}; then
  echo "{POLICY_RC} exists and is not bluemind-ha's: review it first" >&2
  exit 1
fi
printf '#!/bin/sh\\n# bluemind-ha: OS upgrade, no service starts\\nexit 101\\n' > {POLICY_RC}
chmod 0755 {POLICY_RC}
apt-mark unhold {held}
apt-get update
apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade
apt-mark hold {held}
rm -f {POLICY_RC}
systemctl disable --quiet corosync.service pacemaker.service  # never at boot: no fence loops
if [ -e /run/reboot-required ]; then
  echo "$node asks for a reboot: reboot it, then run this again to rejoin; it stays in standby meanwhile."
  exit 0
fi
# 4. Rejoin, wait until the cluster sees this node online, then take it out of standby.
systemctl start corosync.service pacemaker.service
deadline=$((SECONDS + {REJOIN_TIMEOUT_S}))
until crm_mon -1 --output-as=xml 2>/dev/null | grep -q "<node name=\\"$node\\"[^>]* online=\\"true\\""; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "$node is not online after {REJOIN_TIMEOUT_S}s: see corosync-cfgtool -s and crm_mon -1; it stays in standby" >&2
    exit 1
  fi
  sleep 5
done
crm_attribute --node "$node" --name standby --delete
crm_mon -1
echo "$node upgraded and back in the cluster (BlueMind stays where it runs: no failback). Next: the same on $peer."
"""


def power_off_check(s: Settings, node: Node) -> str:
    if node.bmc is None:
        return (f"#    {node.name} has no BMC in the stack: check at its console or power supply that it is off.\n"
                f"#    Do not go on while you are not sure.")
    return (f"{ipmitool_power(s, node, 'status')}\n"
            f"#    It must print \"Chassis Power is off\". If it is on: ipmitool ... chassis power off, and check again.")


def _takeover(s: Settings, failed: Node, survivor: Node) -> str:
    if s.fenced:
        return f"""## {failed.name} is down and its fencing failed; run on {survivor.name}
# 1. Make sure {failed.name} is really off (fencing could not prove it):
{power_off_check(s, failed)}
# 2. Tell the cluster {failed.name} is off, as if it had been fenced. Pacemaker then starts the group on {survivor.name}.
stonith_admin --confirm {failed.name}
# 3. Watch the group start:
crm_mon -1
"""
    return f"""## {failed.name} is down; run on {survivor.name}
# 1. Make sure {failed.name} is off: without fencing, this is the only guard against both nodes mounting the LUNs.
{power_off_check(s, failed)}
# 2. Give {survivor.name} quorum alone ({survivor.name} is frozen without it):
corosync-quorumtool -e 1
# 3. Start the group: clear the old failures, and pacemaker starts it on {survivor.name}.
crm_resource --cleanup --resource {GROUP_ID}
crm_resource --wait --timeout={SWITCHOVER_TIMEOUT_S}s
crm_mon -1
# When {failed.name} is repaired: boot it, start corosync and pacemaker there; expected votes return to 2.
"""


def manual_takeover_runbook(s: Settings) -> str:
    """Taking the group over on the surviving node after the active one died: for `failover: manual`
    stacks (confirm the peer is off, corosync-quorumtool -e 1, start the group), and for fenced stacks
    whose fencing failed (confirm the peer is off, stonith_admin --confirm). One section per direction."""
    a, b = s.nodes
    header = ("# Manual takeover (failover: manual): the cluster never starts BlueMind on a node that cannot prove\n"
              "# the other is gone; you prove it.\n" if not s.fenced else
              "# Manual takeover (fenced cluster): only when fencing failed, e.g. the BMC lost power with its node.\n")
    return header + "\n" + _takeover(s, a, b) + "\n" + _takeover(s, b, a)


def verify_script(s: Settings) -> str:
    """The checks after `pulumi up`, run on each node (components/scripts/verify.sh): exit 1 if any fails."""
    peer_parameters = {n.name: agent_stdin(fence_parameters(s, s.peer_of(n)), "status") for n in s.nodes} \
        if s.fenced else {}
    return render("verify.sh", f"verify the {s.stack} cluster", {
        "group": GROUP_ID, "url": s.bluemind.url, "vip": s.network.vip, "stonith": "true" if s.fenced else "false",
        "timeout_s": PREFLIGHT_TIMEOUT_S, "nodes": [n.name for n in s.nodes],
        "directories": [lun.directory for lun in s.storage.luns],
        "labels": [lun.fs_label for lun in s.storage.luns], "peer_fence_parameters": peer_parameters,
        "held": HELD_PACKAGES, "bluemind_target": BLUEMIND_TARGET})
