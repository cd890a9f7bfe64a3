#!/usr/bin/env bash
# Install bluemind-ha's pacemaker agents. stdin: ocf:bluemind-ha:service, the resource agent that checks
# what BlueMind's bm-checks check. With alerts, also the mail alert agent, from the distribution's sample.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${service_agent:?}" "${alert_agent_sample-}" "${alert_agent-}"

install -d -m 0755 "${service_agent%/*}"
install_stdin "$service_agent" 0755
if [ -n "$alert_agent" ]; then
  install -D -m 0755 "$alert_agent_sample" "$alert_agent"
fi
