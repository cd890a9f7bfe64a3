"""cloud-init for the lab VMs: hostname, root's SSH key, the VM's own SSH host key (made by the program, so
it is known before the first connection), and a static address (no DHCP: the cluster's addresses must
never change under it)."""
from __future__ import annotations

import yaml

from components.settings import Settings


def user_data(s: Settings, hostname: str, host_key_private: str, host_key_public: str) -> str:
    doc = {
        "hostname": hostname,
        "fqdn": hostname,
        "manage_etc_hosts": True,
        "disable_root": False,
        "users": [{"name": "root", "ssh_authorized_keys": [s.libvirt.ssh_public_key]}],
        # The host key every connection pins: no other is made, the image's own are removed.
        "ssh_deletekeys": True,
        "ssh_genkeytypes": [],
        "ssh_keys": {"ed25519_private": host_key_private, "ed25519_public": host_key_public},
        "package_update": True,
    }
    return "#cloud-config\n" + yaml.safe_dump(doc, sort_keys=True)


def network_config(s: Settings, address: str) -> str:
    net = s.network
    doc = {
        "version": 2,
        "ethernets": {
            net.nic: {
                "addresses": [f"{address}/{net.prefix}"],
                "routes": [{"to": "default", "via": net.gateway}],
                "nameservers": {"addresses": list(net.dns or (net.gateway,))},
            }
        },
    }
    return yaml.safe_dump(doc, sort_keys=True)
