#!/usr/bin/env bash
# On the lab's hypervisor: VirtualBMC (PyPI virtualbmc) and its daemon vbmcd, which answers IPMI for the VMs,
# as a service enabled at boot (vbmcd_unit): after a reboot of the hypervisor the lab can still be fenced.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${vbmcd_unit:?}"

if [ ! -x /opt/virtualbmc/bin/vbmcd ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends python3-venv libvirt-dev pkg-config gcc python3-dev
  python3 -m venv /opt/virtualbmc
  /opt/virtualbmc/bin/pip install -q virtualbmc==3.3.0
  ln -sf /opt/virtualbmc/bin/vbmc /opt/virtualbmc/bin/vbmcd /usr/local/bin/
fi
printf '%s' "$vbmcd_unit" | install_stdin /etc/systemd/system/vbmcd.service 0644 >/dev/null
systemctl daemon-reload
systemctl enable --now vbmcd.service
