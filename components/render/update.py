"""Updating BlueMind on the HA pair: the seed's procedure, as scripts. Pure: Settings in, bash out.

BlueMind's HA page: disable the HA handling, update the packages on both servers, then run the
post-installation configuration on the server holding the public IP only. Here, in order:

1. `maintenance_on_script`     once, on either node: the update window opens: the BlueMind group's own
                               maintenance (meta maintenance=true), so pacemaker stops starting, stopping
                               and monitoring BlueMind, while fencing stays armed.
2. `package_update_script`     on both nodes, in parallel.
3. `post_install_script`       on both nodes: acts only where the VIP is, found at run time.
4. `maintenance_off_script`    once: re-probe the group, refuse if it is found on two nodes, then hand it
                               back to pacemaker.
5. `cluster_check_script`      once: the group runs on one node, complete, with no failed actions; the
                               release is recorded as the cluster's.

The window is the group's, never the cluster-wide `maintenance-mode`: that one also stops fencing and
every recovery, so a node lost during a long update (`bm-cli setup upgrade` on thousands of mailboxes)
would never be powered off. The fence devices and the membership stay managed (tools/failover.py plays a
node lost during the update window). Every step but the last refuses to run outside the window, and no step
closes it except step 4 after its checks: a failure anywhere leaves the group in maintenance, with the
services running as they are, and prints what to do next.

What BlueMind release the cluster runs is recorded in the CIB (`release_id`: the version and the apt source
it comes from), replicated to both nodes: step 5 records it once the cluster check passed, and every step
first compares it with the stack's. So the procedure runs when the version or the repository changes, and a
step that runs again for any other reason (an edited script, a new SSH key) finds the release in place and
does nothing: no update window, no upgrade, no post-installation nobody asked for.
"""
from __future__ import annotations

import hashlib
import shlex

from components.names import (
    APT_KEYRING_PATH,
    APT_PIN_PATH,
    APT_SOURCE_PATH,
    BLUEMIND_TARGET,
    GROUP_ID,
    HELD_PACKAGES,
    POLICY_RC,
    SETTLE_TIMEOUT_S,
    VIP_ID,
    group_member_ids,
)
from components.render.shell import render
from components.services import active_only_units
from components.settings import Node, Settings

# The update window: the group's own maintenance meta attribute (never the cluster-wide maintenance-mode).
GROUP_MAINTENANCE_ON = f"crm_resource --resource {GROUP_ID} --meta --set-parameter maintenance --parameter-value true"
GROUP_MAINTENANCE_OFF = f"crm_resource --resource {GROUP_ID} --meta --delete-parameter maintenance"
# Where the CIB holds the release the cluster runs: a property set of ours, next to pacemaker's own.
RELEASE_QUERY = "crm_attribute --type crm_config --set-name bluemind-ha-state --name bluemind-ha-release"


def apt_pin(version: str) -> str:
    """The apt preference that holds every BlueMind package at `version` (1001: even downwards)."""
    return f"Package: bm-* bluemind-*\nPin: version {version}*\nPin-Priority: 1001\n"


def apt_keyring(s: Settings) -> str | None:
    """Where the source's signing key is installed, when the stack gives one (bluemind.apt_signing_key)."""
    return APT_KEYRING_PATH if s.bluemind.apt_signing_key else None


def apt_source_line(subscription_url: str, keyring: str | None = None) -> str:
    """The apt source of the stack's subscription: its URL carries the subscription id, so the line is a
    secret (the bluemind-apt-source step installs it root-only). With a keyring, only that key may sign it."""
    options = f"[signed-by={keyring}] " if keyring else ""
    return f"deb {options}{subscription_url.strip()} bluemind main\n"


def first_install_pin(s: Settings) -> str:
    """What the nodes' bluemind-packages step pins BlueMind to, once, for the first install."""
    return apt_pin(s.bluemind.version)


def release_id(s: Settings) -> str:
    """The BlueMind release of the stack: its version and a digest of the repository (without the
    subscription id: a renewed subscription is no new release)."""
    return f"{s.bluemind.version}+{hashlib.sha256(s.bluemind.apt_repository.encode()).hexdigest()[:12]}"


def _common(s: Settings) -> dict:
    """The variables of components/scripts/update-common.sh, which every update step sources."""
    return {"release": release_id(s), "version": s.bluemind.version,
            "allow_downgrade": "true" if s.bluemind.allow_downgrade else "false", "stack": s.stack,
            "release_attribute": shlex.split(RELEASE_QUERY), "group": GROUP_ID, "vip_id": VIP_ID}


def chain_armed_script(s: Settings) -> str:
    """What every update-chain step runs when it is first created: the first install is the nodes'
    bluemind-packages step, so the chain only records that the cluster runs the stack's release."""
    return render("update-chain-armed.sh", f"update chain for BlueMind {s.bluemind.version}", {
        "release": release_id(s), "version": s.bluemind.version, "release_attribute": shlex.split(RELEASE_QUERY)})


def maintenance_on_script(s: Settings) -> str:
    """Step 1, on either node: refuse a version lower than the cluster's recorded release (unless the stack
    allows a downgrade), then put the BlueMind group (not the cluster) in maintenance and verify it took."""
    return render("update-maintenance-on.sh", "update step 1: the BlueMind group's maintenance on (fencing stays armed)",
                  {**_common(s), "nodes": [n.name for n in s.nodes]})


def package_update_script(s: Settings, node: Node) -> str:
    """Step 2, on `node` (both nodes in parallel): pin BlueMind to `s.bluemind.version`, apt-get update, upgrade
    only BlueMind's installed packages (the cluster stack stays held: never a dist-upgrade), verify the
    installed version, keep every cluster-managed unit disabled at boot; on the node without the VIP, no
    package script starts a service."""
    bm = s.bluemind
    return render("update-packages.sh", f"update step 2 on {node.name}: BlueMind packages to {bm.version}", {
        **_common(s), "node": node.name, "apt_source_path": APT_SOURCE_PATH,
        "apt_pin_path": APT_PIN_PATH, "apt_pin": apt_pin(bm.version), "policy_rc": POLICY_RC,
        "cluster_units": [u + ".service" for u in active_only_units(bm.major)], "held": HELD_PACKAGES,
        "bluemind_target": BLUEMIND_TARGET})


def post_install_script(s: Settings, node: Node) -> str:
    """Step 3, on every node: only the node holding the VIP at run time runs BlueMind's post-installation
    configuration (`bm-cli setup upgrade`); the other says it skipped."""
    return render("update-post-install.sh",
                  f"update step 3 on {node.name}: BlueMind post-installation, on the VIP holder only",
                  {**_common(s), "node": node.name})


def maintenance_off_script(s: Settings) -> str:
    """Step 4, once: re-probe the group's members, refuse unless the probes found the whole group on exactly
    one node, then take the group out of maintenance and wait for the cluster to settle."""
    return render("update-maintenance-off.sh", "update step 4: re-probe, then the BlueMind group's maintenance off",
                  {**_common(s), "members": group_member_ids(s), "settle_timeout_s": SETTLE_TIMEOUT_S})


def cluster_check_script(s: Settings) -> str:
    """Step 5, once: pass only if neither the group nor the cluster is in maintenance, every group member runs on one and the same node,
    and pacemaker lists no failed action; then record the release as the cluster's."""
    return render("update-check.sh", "update step 5: the BlueMind group runs on one node, complete, without failures",
                  {**_common(s), "members": group_member_ids(s)})
