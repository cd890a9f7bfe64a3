"""Updating BlueMind on the HA pair: the seed's procedure, as scripts. Pure: Settings in, bash out.

BlueMind's HA page: disable the HA handling, update the packages on both servers, then run the
post-installation configuration on the server holding the public IP only. Here, in order:

1. `maintenance_on_script`     once, on either node: pacemaker stops starting, stopping and monitoring.
2. `package_update_script`     on both nodes, in parallel.
3. `post_install_script`       on both nodes: acts only where the VIP is, found at run time.
4. `maintenance_off_script`    once: re-probe everything, refuse if the group is found on two nodes, then
                               hand control back to pacemaker.
5. `cluster_check_script`      once: the group runs on one node, complete, with no failed actions; the
                               release is recorded as the cluster's.

Every step but the last refuses to run outside maintenance mode, and no step turns maintenance mode off
except step 4 after its checks: a failure anywhere leaves the cluster in maintenance mode, with the
services running as they are, and prints what to do next.

What BlueMind release the cluster runs is recorded in the CIB (`release_id`: the version and the apt source
it comes from), replicated to both nodes: step 5 records it once the cluster check passed, and every step
first compares it with the stack's. So the procedure runs when the version or the repository changes, and a
step that runs again for any other reason (an edited script, a new SSH key) finds the release in place and
does nothing: no maintenance window, no dist-upgrade, no post-installation nobody asked for.
"""
from __future__ import annotations

import hashlib
import shlex

from components.render.cib import GROUP_ID, VIP_ID, group_member_ids
from components.render.shell import script
from components.services import active_only_units
from components.settings import Node, Settings

MAINTENANCE_QUERY = "crm_attribute --type crm_config --name maintenance-mode --query --quiet"
APT_PIN_PATH = "/etc/apt/preferences.d/bluemind-ha"
APT_SOURCE_PATH = "/etc/apt/sources.list.d/bluemind.list"
POLICY_RC = "/usr/sbin/policy-rc.d"
SETTLE_TIMEOUT_S = 900  # the group's slowest path: every start timeout of a cold start
# Where the CIB holds the release the cluster runs: a property set of ours, next to pacemaker's own.
RELEASE_QUERY = "crm_attribute --type crm_config --set-name bluemind-ha-state --name bluemind-ha-release"


def apt_pin(version: str) -> str:
    """The apt preference that holds every BlueMind package at `version` (1001: even downwards)."""
    return f"Package: bm-* bluemind-*\nPin: version {version}*\nPin-Priority: 1001\n"


def block_service_starts(why: str, refuse: str) -> str:
    """Bash: package scripts may not start services until the script exits (a policy-rc.d answering 101).
    An admin's own policy-rc.d is never replaced: `refuse` runs instead."""
    return f"""if [ -e {POLICY_RC} ] && ! grep -q bluemind-ha {POLICY_RC}; then
  {refuse}
fi
printf '#!/bin/sh\\n# bluemind-ha: {why}\\nexit 101\\n' | install_stdin {POLICY_RC} 0755 >/dev/null
trap 'rm -f {POLICY_RC}' EXIT"""


def apt_source(s: Settings) -> str:
    return f"deb {s.bluemind.apt_repository} bluemind main\n"


def first_install_sources(s: Settings) -> str:
    """What the nodes' bluemind-packages step installs BlueMind from, once: the apt source line, then the pin."""
    return apt_source(s) + apt_pin(s.bluemind.version)


def release_id(s: Settings) -> str:
    """The BlueMind release of the stack: its version and a digest of the apt source (which names the
    subscription, kept out of the CIB)."""
    return f"{s.bluemind.version}+{hashlib.sha256(apt_source(s).encode()).hexdigest()[:12]}"


def _helpers(s: Settings) -> str:
    """The bash functions every update script shares."""
    return rf'''
release={shlex.quote(release_id(s))}
# Does the cluster run this release already (recorded by the last step of a completed update)?
release_in_place() {{
  [ "$({RELEASE_QUERY} --query --quiet 2>/dev/null || true)" = "$release" ]
}}

in_maintenance() {{
  [ "$({MAINTENANCE_QUERY} 2>/dev/null || true)" = true ]
}}

# fail WHAT NEXT: say what failed and what to do, and stop. Maintenance mode is left as it is.
fail() {{
  echo "FAILED: $1" >&2
  echo "The cluster stays in maintenance mode: pacemaker neither starts, stops nor monitors anything." >&2
  echo "Next: $2" >&2
  exit 1
}}
trap 'echo "FAILED at line $LINENO; the cluster stays in maintenance mode. Fix the cause and re-run this step." >&2' ERR

require_maintenance() {{
  in_maintenance || fail "the cluster is not in maintenance mode" \
    "run the maintenance-on step first; updating under a managing pacemaker would trigger recovery or fencing"
}}

# holds_vip: does this node carry the floating IP right now? The address is read from the CIB, not
# written here, so a change of the VIP does not re-run the update chain.
holds_vip() {{
  local vip
  vip=$(crm_resource --resource {VIP_ID} --get-parameter ip --quiet) || fail "cannot read the VIP from the CIB" \
    "check the cluster with crm_mon -1"
  ip -o -4 addr show | awk '{{print $4}}' | cut -d/ -f1 | grep -qxF "$vip"
}}
'''


def _script(s: Settings, title: str, body: str) -> str:
    """An update step: it does nothing when the cluster already runs the stack's release."""
    return script(title, _helpers(s) + f"""
if release_in_place; then
  echo "BlueMind {s.bluemind.version} (release $release) is in place on this cluster: nothing to do."
  exit 0
fi
""" + body)


def chain_armed_script(s: Settings) -> str:
    """What every update-chain step runs when it is first created: the first install is the nodes'
    bluemind-packages step, so the chain only records that the cluster runs the stack's release."""
    return script(f"update chain for BlueMind {s.bluemind.version}", f"""
{RELEASE_QUERY} --update {shlex.quote(release_id(s))}
echo "BlueMind {s.bluemind.version}: installed by the bluemind-packages step; this chain runs when the release changes."
""")


def maintenance_on_script(s: Settings) -> str:
    """Step 1, on either node: put the whole cluster in maintenance mode and verify it took."""
    return _script(s, "update step 1: cluster maintenance mode on", f"""
crm_attribute --type crm_config --name maintenance-mode --update true
in_maintenance || fail "maintenance-mode did not read back as true" "check the cluster with crm_mon -1; re-run this step"
echo "maintenance-mode=true: pacemaker neither starts, stops nor monitors resources; the services keep running."
echo "Next: the package update on both nodes ({s.nodes[0].name}, {s.nodes[1].name})."
""")


def package_update_script(s: Settings, node: Node) -> str:
    """Step 2, on `node` (both nodes in parallel): pin BlueMind to `s.bluemind.version`, apt-get update and
    dist-upgrade, verify the installed version, keep every cluster-managed unit disabled at boot. On the
    node without the VIP, package scripts may not start services (the data LUNs are not mounted there),
    and any that run anyway are stopped."""
    bm = s.bluemind
    units = " ".join(shlex.quote(u + ".service") for u in active_only_units(bm.major))
    return _script(s, f"update step 2 on {node.name}: BlueMind packages to {bm.version}", f"""
require_maintenance
export DEBIAN_FRONTEND=noninteractive
printf '%s' {shlex.quote(apt_source(s))} | install_stdin {APT_SOURCE_PATH} 0644 >/dev/null
printf '%s' {shlex.quote(apt_pin(s.bluemind.version))} | install_stdin {APT_PIN_PATH} 0644 >/dev/null
active=no
holds_vip && active=yes
if [ "$active" = no ]; then
{block_service_starts("no service starts on the passive node during an update",
                      f'fail "{POLICY_RC} exists and is not ours" "review it; remove it if it is stale, then re-run this step"')}
fi
apt-get update -qq || fail "apt-get update failed on {node.name}" "check {APT_SOURCE_PATH} and the network, then re-run this step"
apt-get -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold dist-upgrade \\
  || fail "the upgrade failed on {node.name}" "run 'dpkg --configure -a' and 'apt-get -f install' there, then re-run this step"
installed=$(dpkg-query -W -f '${{Version}}' bluemind-full 2>/dev/null || true)
case "$installed" in
  {shlex.quote(bm.version)}*) ;;
  *) fail "bluemind-full is '$installed' on {node.name}, not {bm.version}" \\
       "check that {bm.version} is in the repository ({APT_SOURCE_PATH}), then re-run this step" ;;
esac
for unit in {units}; do
  systemctl disable --quiet "$unit" 2>/dev/null || true
  if [ "$active" = no ]; then
    systemctl stop "$unit" 2>/dev/null || true
  fi
done
echo "{node.name}: BlueMind $installed installed; cluster-managed services disabled at boot (VIP here: $active)."
echo "Next, once both nodes are done: the post-install step."
""")


def post_install_script(s: Settings, node: Node) -> str:
    """Step 3, on every node: only the node holding the VIP at run time runs BlueMind's post-installation
    configuration (`bm-cli setup upgrade`; rc 3 with "Upgrade Complete: Success" is a success); the other
    says it skipped."""
    return _script(s, f"update step 3 on {node.name}: BlueMind post-installation, on the VIP holder only", f"""
require_maintenance
if ! holds_vip; then
  echo "{node.name}: skipped: it does not hold the VIP; the post-installation runs on the node that does."
  exit 0
fi
rc=0
output=$(bm-cli setup upgrade 2>&1) || rc=$?
printf '%s\\n' "$output"
if [ "$rc" -eq 0 ] || {{ [ "$rc" -eq 3 ] && grep -qF "Upgrade Complete: Success" <<<"$output"; }}; then
  echo "{node.name}: post-installation done (bm-cli rc $rc)."
  echo "Next: the maintenance-off step."
else
  fail "bm-cli setup upgrade returned $rc on {node.name}" \\
    "read the output above and /var/log/bm/*.log, fix the cause, then re-run this step"
fi
""")


def maintenance_off_script(s: Settings) -> str:
    """Step 4, once: re-probe every resource (crm_resource --refresh), refuse unless the probes found the
    whole group on exactly one node, then turn maintenance mode off and wait for the cluster to settle."""
    members = " ".join(shlex.quote(m) for m in group_member_ids(s))
    return _script(s, "update step 4: re-probe, then cluster maintenance mode off", f"""
if ! in_maintenance; then
  echo "maintenance-mode is already off; nothing to do. Next: the cluster check."
  exit 0
fi
# While in maintenance, pacemaker still runs probes: what it finds is what it will manage afterwards.
crm_resource --refresh >/dev/null
crm_resource --wait --timeout={SETTLE_TIMEOUT_S}s \\
  || fail "the re-probe did not settle" "look at crm_mon -1; re-run this step"
nodes=""
for member in {members}; do
  found=$(crm_resource --locate --resource "$member" --quiet 2>/dev/null | sort -u || true)
  case "$(printf '%s\\n' "$found" | grep -c .)" in
    1) ;;
    0) fail "$member runs on no node" "start it by hand on the node holding the VIP, or find why it stopped; re-run this step" ;;
    *) fail "$member runs on more than one node: ${{found//$'\\n'/ }}" "stop it on the node without the VIP; re-run this step" ;;
  esac
  nodes=$(printf '%s\\n%s\\n' "$nodes" "$found" | grep . | sort -u)
done
if [ "$(printf '%s\\n' "$nodes" | grep -c .)" -ne 1 ]; then
  fail "the group {GROUP_ID} is split across nodes: ${{nodes//$'\\n'/ }}" "stop the members on the node without the VIP; re-run this step"
fi
crm_attribute --type crm_config --name maintenance-mode --delete
crm_resource --wait --timeout={SETTLE_TIMEOUT_S}s || echo "the cluster has not settled yet; the cluster check tells more." >&2
echo "maintenance-mode off: pacemaker manages the group again, on $nodes. Next: the cluster check."
""")


def cluster_check_script(s: Settings) -> str:
    """Step 5, once: pass only if maintenance mode is off, every group member runs on one and the same node,
    and pacemaker lists no failed action; then record the release as the cluster's, which completes the
    update. Prints crm_mon's view either way."""
    members = " ".join(shlex.quote(m) for m in group_member_ids(s))
    return _script(s, "update step 5: the BlueMind group runs on one node, complete, without failures", rf"""
crm_mon -1 --show-detail || true
problems=0
if [ "$({MAINTENANCE_QUERY} 2>/dev/null || true)" = true ]; then
  echo "PROBLEM: the cluster is in maintenance mode: nothing fails over." >&2
  problems=1
fi
nodes=""
for member in {members}; do
  found=$(crm_resource --locate --resource "$member" --quiet 2>/dev/null | sort -u || true)
  if [ "$(printf '%s\n' "$found" | grep -c .)" -ne 1 ]; then
    echo "PROBLEM: $member runs on: ${{found:-no node}}" >&2
    problems=1
  fi
  nodes=$(printf '%s\n%s\n' "$nodes" "$found" | grep . | sort -u || true)
done
if [ "$(printf '%s\n' "$nodes" | grep -c .)" -ne 1 ]; then
  echo "PROBLEM: the group {GROUP_ID} is not on exactly one node: ${{nodes//$'\n'/ }}" >&2
  problems=1
fi
failures=$(crm_mon -1 --output-as=xml | grep -c '<failure ' || true)
if [ "$failures" -ne 0 ]; then
  echo "PROBLEM: $failures failed action(s); after fixing the cause: crm_resource --cleanup" >&2
  problems=1
fi
if [ "$problems" -ne 0 ]; then
  exit 1
fi
{RELEASE_QUERY} --update "$release"
echo "OK: the group {GROUP_ID} runs complete on $nodes, no failed actions; the cluster runs release $release."
""")
