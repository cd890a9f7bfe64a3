"""Programs bluemind-ha installs on each cluster node for pacemaker to run, and where they go.

The lead's node components copy them (remote.CopyToRemote, or stdin of a remote.Command) with mode 0755.
"""
from __future__ import annotations

from pathlib import Path

# ocf:bluemind-ha:check: pacemaker finds OCF agents under resource.d/<provider>/<type>.
CHECK_AGENT_PROVIDER = "bluemind-ha"
CHECK_AGENT_TYPE = "check"
CHECK_AGENT_PATH = f"/usr/lib/ocf/resource.d/{CHECK_AGENT_PROVIDER}/{CHECK_AGENT_TYPE}"
CHECK_AGENT_SOURCE = Path(__file__).parent / "check"

# The mail alert agent is Debian's own sample (pacemaker package), installed executable under /usr/local:
# /usr/share belongs to dpkg, /var/lib/pacemaker to the cluster's state; the alert runs as hacluster,
# which may read and execute it there.
ALERT_AGENT_SAMPLE = "/usr/share/pacemaker/alerts/alert_smtp.sh.sample"
ALERT_AGENT_PATH = "/usr/local/lib/bluemind-ha/alert_smtp.sh"


def check_agent_source() -> str:
    """The text of ocf:bluemind-ha:check, to install at CHECK_AGENT_PATH (0755)."""
    return CHECK_AGENT_SOURCE.read_text()


def install_alert_agent_command() -> str:
    """Install the mail alert agent from the distribution's sample; idempotent."""
    return f"install -D -m 0755 {ALERT_AGENT_SAMPLE} {ALERT_AGENT_PATH}"
