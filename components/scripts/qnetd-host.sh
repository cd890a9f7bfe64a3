# shellcheck shell=bash
# What the arbitrator's steps do to the host itself, apart from the certificates: install corosync-qnetd (never
# upgrade it) and run it at boot. The lab, which has no apt and no systemd, renders these two as no-ops and runs
# corosync-qnetd itself (lab/qnetd.py).

qnetd_install() {
  if ! command -v corosync-qnetd >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends --no-upgrade corosync-qnetd >&2
  fi
}

# qnetd_start RESTART: enable and start corosync-qnetd; restart it when RESTART is true (a new CA).
qnetd_start() {
  systemctl enable --quiet --now corosync-qnetd.service
  if [ "$1" = true ]; then
    systemctl restart corosync-qnetd.service
  fi
}
