# shellcheck shell=bash
# What the nodes' qdevice steps do to the host itself, apart from the certificates: install corosync-qdevice
# (never upgrade it), and start it with corosync, never at boot on its own. The lab, which has no apt and no
# systemd, renders these two as no-ops and starts corosync-qdevice itself (lab/qnetd.py).

# qdevice_install: the package; its unit stays disabled (it Requires= corosync: enabled, it would start corosync
# at boot, which a fenced node must not do).
qdevice_install() {
  if ! command -v corosync-qdevice >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends --no-upgrade corosync-qdevice >&2
  fi
  systemctl disable --quiet corosync-qdevice.service
}

# qdevice_start CHANGED DROPIN TEXT: corosync.service Wants= corosync-qdevice (the drop-in), so starting corosync starts the
# device after it and stopping corosync stops it. On a running cluster: started now, restarted on a new
# certificate.
qdevice_start() {
  install -d -m 0755 "${2%/*}"
  if [ "$(printf '%s' "$3" | install_stdin "$2" 0644)" = changed ]; then
    systemctl daemon-reload
  fi
  if systemctl is-active --quiet corosync.service; then
    if [ "$1" = true ]; then
      systemctl restart corosync-qdevice.service
    else
      systemctl start corosync-qdevice.service
    fi
  fi
}
