"""VirtualBMC on the libvirt lab's hypervisor: one IPMI endpoint per node VM, so the lab fences like production.

vbmcd keeps each endpoint in ~/.vbmc/<domain>/config (an INI file it reads with configparser and rewrites
on `vbmc start`/`stop`, toggling `active`). The config is rendered in configparser's own layout and key
order, so vbmcd's rewrite of an active endpoint leaves it byte-identical and a re-run sees no change.
"""
from __future__ import annotations

from components.render.shell import Text, render
from components.settings import Node, Settings

# How long to wait for vbmcd to report the endpoint running (it starts endpoints from a periodic sync).
START_WAIT_S = 30
# vbmcd runs as root (it needs libvirt) and keeps its endpoints under $HOME/.vbmc: root's, whoever logs in.
VBMC_HOME = "/root"


def vbmc_domain(node: Node) -> str:
    """The libvirt domain of a node VM is named after the node (components/hosts.py)."""
    return node.name


def vbmc_config(s: Settings, node: Node, password: str) -> str:
    bmc, lv = node.bmc, s.libvirt
    assert bmc is not None and lv is not None
    if "\n" in password or len(password.encode()) > 20:
        raise ValueError(f"the BMC password of {node.name} must be one line of at most 20 bytes (IPMI v2.0 limit)")
    options = [
        ("username", bmc.username),
        ("password", password),
        ("address", bmc.address),
        ("port", str(bmc.port)),
        ("domain_name", vbmc_domain(node)),
        ("libvirt_uri", lv.uri),
        ("active", "True"),
    ]
    return "[VirtualBMC]\n" + "".join(f"{key} = {value}\n" for key, value in options) + "\n"


# vbmcd as a service enabled at boot: after a reboot of the hypervisor the lab can still be fenced.
VBMCD_UNIT = f"""[Unit]
Description=VirtualBMC: the IPMI endpoints that fence the bluemind-ha lab's VMs
Wants=libvirtd.service
After=libvirtd.service

[Service]
ExecStart=/opt/virtualbmc/bin/vbmcd --foreground
Environment=HOME={VBMC_HOME}
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def virtualbmc_install() -> str:
    """On the lab's hypervisor: VirtualBMC (PyPI virtualbmc) and its daemon vbmcd, which answers IPMI for
    the VMs, as a service enabled at boot."""
    return render("virtualbmc-install.sh", "hypervisor: VirtualBMC", {"vbmcd_unit": Text(VBMCD_UNIT, "UNIT")})


def vbmc_script(s: Settings, node: Node) -> str:
    """bash, run on the hypervisor with vbmc_config() on stdin: install the endpoint, (re)start it if needed."""
    assert node.bmc is not None and s.libvirt is not None
    domain = vbmc_domain(node)
    return render("virtualbmc.sh", f"hypervisor: VirtualBMC for {domain} on {node.bmc.address}:{node.bmc.port}",
                  {"domain": domain, "vbmc_home": VBMC_HOME, "start_wait_s": START_WAIT_S})


def virtualbmc_delete(s: Settings, node: Node) -> str:
    """The endpoint's delete: stopped and removed with its configuration (which holds the BMC password)."""
    domain = vbmc_domain(node)
    return render("virtualbmc-delete.sh", f"hypervisor: remove the VirtualBMC of {domain}",
                  {"domain": domain, "vbmc_home": VBMC_HOME})
