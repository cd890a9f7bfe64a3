#!/usr/bin/env bash
# Install bluemind-ha's pacemaker agents. stdin: ocf:bluemind-ha:service, the resource agent that checks
# what BlueMind's bm-checks check. With alerts, also the SMTP alert agent (alert_agent_text), which submits
# pacemaker's events to the configured relay.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${service_agent:?}" "${alert_agent-}" "${alert_agent_text-}"

install -d -m 0755 "${service_agent%/*}"
install_stdin "$service_agent" 0755
if [ -n "$alert_agent" ]; then
  install -d -m 0755 "${alert_agent%/*}"
  printf '%s' "$alert_agent_text" | install_stdin "$alert_agent" 0755 >/dev/null
fi
