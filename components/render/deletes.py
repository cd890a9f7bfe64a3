"""What each step does when it is deleted (`pulumi destroy`, or the step leaving the stack, as the BMC
password does on a switch to `failover: manual`). Pure: Settings in, bash out.

A step that leaves state on a host removes it, unless the cluster's configuration still refers to it: a
destroy keeps a running cluster running (README, "What pulumi destroy does"). Steps not here keep what they
made on purpose: packages, data, filesystems, the iSCSI sessions and target, the running cluster. (A lab VM's
VirtualBMC endpoint is removed by components/render/vbmc.py's virtualbmc_delete.)
"""
from __future__ import annotations

from components.agents import ALERT_AGENT_PATH, ISCSI_WATCH_AGENT_PATH, SERVICE_AGENT_PATH, SERVICE_AGENT_PROVIDER
from components.names import (
    LSYNCD_CONF,
    LSYNCD_UNIT,
    SYNC_GUARD,
    SYNC_KEY,
    SYNC_KNOWN_HOSTS,
    SYNC_RSYNCD_CONF,
    bmc_password_file,
    fence_id,
)
from components.render.shell import render
from components.services import LSYNCD
from components.settings import Node, Settings


def _remove_unless_used(step: str, title: str, in_use_xpath: str, files: list[str],
                        authorized_key_comment: str = "") -> str:
    return render("remove-unless-used.sh", title, {"step": step, "in_use_xpath": in_use_xpath, "files": files,
                                                   "authorized_key_comment": authorized_key_comment})


def _lsyncd_in_use() -> str:
    return f"//primitive[@id='{LSYNCD.rsc_id}']"


def bmc_password_delete(s: Settings, node: Node) -> str:
    """The peer's BMC password goes once no fence device reads it."""
    peer = s.peer_of(node)
    return _remove_unless_used("bmc-password", f"{node.name}: remove the password of {peer.name}'s BMC",
                               f"//primitive[@id='{fence_id(peer)}']", [bmc_password_file(peer)])


def cluster_agents_delete(s: Settings, node: Node) -> str:
    return _remove_unless_used("cluster-agents", f"{node.name}: remove bluemind-ha's pacemaker agents",
                               f"//primitive[@provider='{SERVICE_AGENT_PROVIDER}'] | //alert",
                               [SERVICE_AGENT_PATH, ISCSI_WATCH_AGENT_PATH, ALERT_AGENT_PATH])


def sync_key_delete(s: Settings, node: Node) -> str:
    return _remove_unless_used("sync-key", f"{node.name}: remove lsyncd's SSH key", _lsyncd_in_use(),
                               [SYNC_KEY, SYNC_KEY + ".pub"])


def sync_trust_delete(s: Settings, node: Node) -> str:
    peer = s.peer_of(node)
    return _remove_unless_used("sync-trust", f"{node.name}: stop trusting {peer.name}'s lsyncd key",
                               _lsyncd_in_use(), [SYNC_KNOWN_HOSTS, SYNC_RSYNCD_CONF],
                               f"bluemind-ha-sync@{peer.name}")


def sync_config_delete(s: Settings, node: Node) -> str:
    return _remove_unless_used("sync-config", f"{node.name}: remove lsyncd's configuration", _lsyncd_in_use(),
                               [LSYNCD_CONF, LSYNCD_UNIT, SYNC_GUARD])

