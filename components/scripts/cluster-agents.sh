#!/usr/bin/env bash
# Install bluemind-ha's pacemaker agents. stdin: ocf:bluemind-ha:service, the resource agent that checks
# what BlueMind's bm-checks check. Then ocf:bluemind-ha:iscsi_watch (iscsi_watch_agent_text), the storage
# watch clone's agent. With alerts, also the SMTP alert agent (alert_agent_text), which submits
# pacemaker's events to the configured relay. Then what pacemaker needs of systemd on the node:
# - boot and shutdown order: a resource-agents-deps.target drop-in (pacemaker is After= that target) that
#   Requires= and comes After= iscsid, open-iscsi and network-online: on a reboot pacemaker stops BlueMind
#   before the iSCSI sessions are logged out and the network goes down;
# - the power key ignored (logind): a fence's IPMI power-off is immediate, never a graceful shutdown;
# - bluemind.target masked: `bmctl start|stop|restart` acts on it, and every BlueMind unit is PartOf= it, so
#   bmctl could restart what pacemaker manages, on either node;
# - the CIB's op timeouts on the systemd: members (timeout_dropins): a unit's own TimeoutStartSec would cut a
#   longer CIB start short.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${service_agent:?}" "${iscsi_watch_agent:?}" "${iscsi_watch_agent_text:?}" "${alert_agent-}" "${alert_agent_text-}"
: "${deps_dropin:?}" "${deps_conf:?}" "${logind_dropin:?}" "${logind_conf:?}" "${bluemind_target:?}"
: "${timeout_dropins[@]-}"

install -d -m 0755 "${service_agent%/*}"
install_stdin "$service_agent" 0755
printf '%s' "$iscsi_watch_agent_text" | install_stdin "$iscsi_watch_agent" 0755 >/dev/null
if [ -n "$alert_agent" ]; then
  install -d -m 0755 "${alert_agent%/*}"
  printf '%s' "$alert_agent_text" | install_stdin "$alert_agent" 0755 >/dev/null
fi

install -d -m 0755 "${deps_dropin%/*}" "${logind_dropin%/*}"
deps=$(printf '%s' "$deps_conf" | install_stdin "$deps_dropin" 0644)
logind=$(printf '%s' "$logind_conf" | install_stdin "$logind_dropin" 0644)
# The CIB's op timeouts on the systemd: members (pacemaker's systemd class sets none of its own).
timeouts=unchanged
for dropin in "${!timeout_dropins[@]}"; do
  install -d -m 0755 "${dropin%/*}"
  if [ "$(printf '%s' "${timeout_dropins[$dropin]}" | install_stdin "$dropin" 0644)" = changed ]; then
    timeouts=changed
  fi
done
if [ "$deps" = changed ] || [ "$logind" = changed ] || [ "$timeouts" = changed ]; then
  systemctl daemon-reload
fi
if [ "$logind" = changed ]; then
  # logind reads its configuration at start: a restart keeps the sessions.
  systemctl try-restart systemd-logind.service
fi
if [ "$(systemctl is-enabled "$bluemind_target" 2>/dev/null || true)" != masked ]; then
  systemctl mask "$bluemind_target"
fi
