"""Programs bluemind-ha installs on each cluster node for pacemaker to run, and where they go.

The node components install them from the stdin of a remote.Command (components/cluster_node.py).
"""
from __future__ import annotations

from pathlib import Path

# ocf:bluemind-ha:service: pacemaker finds OCF agents under resource.d/<provider>/<type>.
SERVICE_AGENT_PROVIDER = "bluemind-ha"
SERVICE_AGENT_TYPE = "service"
SERVICE_AGENT_PATH = f"/usr/lib/ocf/resource.d/{SERVICE_AGENT_PROVIDER}/{SERVICE_AGENT_TYPE}"
SERVICE_AGENT_SOURCE = Path(__file__).parent / "service"
# ocf:bluemind-ha:iscsi_watch: the clone that watches each node's iSCSI sessions and LUNs (read-only).
ISCSI_WATCH_AGENT_TYPE = "iscsi_watch"
ISCSI_WATCH_AGENT_PATH = f"/usr/lib/ocf/resource.d/{SERVICE_AGENT_PROVIDER}/{ISCSI_WATCH_AGENT_TYPE}"
ISCSI_WATCH_AGENT_SOURCE = Path(__file__).parent / ISCSI_WATCH_AGENT_TYPE

# The mail alert agent (components/agents/alert_smtp) speaks SMTP to the configured relay itself: Debian's
# sample goes through the node's sendmail, the clustered postfix, which is down exactly during a failover.
# Installed executable under /usr/local: /usr/share belongs to dpkg, /var/lib/pacemaker to the cluster's
# state; the alert runs as hacluster, which may read and execute it there.
ALERT_AGENT_PATH = "/usr/local/lib/bluemind-ha/alert_smtp"
ALERT_AGENT_SOURCE = Path(__file__).parent / "alert_smtp"


def service_agent_source() -> str:
    """The text of ocf:bluemind-ha:service, to install at SERVICE_AGENT_PATH (0755)."""
    return SERVICE_AGENT_SOURCE.read_text()


def iscsi_watch_agent_source() -> str:
    """The text of ocf:bluemind-ha:iscsi_watch, to install at ISCSI_WATCH_AGENT_PATH (0755)."""
    return ISCSI_WATCH_AGENT_SOURCE.read_text()


def alert_agent_source() -> str:
    """The text of the SMTP alert agent, to install at ALERT_AGENT_PATH (0755)."""
    return ALERT_AGENT_SOURCE.read_text()
