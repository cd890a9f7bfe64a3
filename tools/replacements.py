"""Which input changes make Pulumi replace a resource (delete and create it) instead of updating it in place.

Input names are as the engine sees them (camelCase, as in resources.json). A resource type missing here
is updated in place whatever changes: our component resources have no inputs of their own.

Sources:
- pulumi-command 1.2.1 (`command:remote:Command`): only `triggers` is replaceOnChanges
  (pulumi/pulumi-command provider/cmd/pulumi-resource-command/schema.json, and
  ../shared/reference/pacemaker-and-pulumi.md, Part B). create/update/stdin edits re-run `update` in place.
- pulumi-libvirt 0.5.4 bridges terraform-provider-libvirt 0.8.1, where the bridge replaces a resource when
  a changed attribute is `ForceNew: true` in the Terraform schema (dmacvicar/terraform-provider-libvirt
  libvirt/resource_libvirt_domain.go, resource_libvirt_volume.go, resource_libvirt_network.go,
  resource_libvirt_cloud_init.go, SDKv2 schema of the 0.7/0.8 series):
  - Domain: name, description, vcpu, memory, firmware, type, nvram, coreos_ignition, fw_cfg_name,
    filesystem, disk, graphics, console, cpu, cmdline, tpm, xml are ForceNew. cloudinit,
    network_interface, autostart, running, qemu_agent, metadata, boot_device, kernel/initrd/machine/arch
    and emulator are not (a new cloud-init ISO is used at the next boot).
  - Volume: no Update function at all; every attribute is ForceNew.
  - CloudInitDisk: no Update function; name, pool, user_data, meta_data, network_config are ForceNew.
  - Network: name, domain, mode, bridge, addresses, dhcp, routes, xml and dns.forwarders/srvs are
    ForceNew; autostart, mtu, active, dns.hosts and dnsmasq_options update in place. A change inside
    `dns` is classed here by its top-level input, so `dns` counts as ForceNew (over-warning, never under).
"""
from __future__ import annotations

COMMAND = "command:remote:Command"
DOMAIN = "libvirt:index/domain:Domain"
VOLUME = "libvirt:index/volume:Volume"
CLOUD_INIT_DISK = "libvirt:index/cloudInitDisk:CloudInitDisk"
NETWORK = "libvirt:index/network:Network"

REPLACE_ON_CHANGE: dict[str, frozenset[str]] = {
    COMMAND: frozenset({"triggers"}),
    DOMAIN: frozenset({"name", "description", "vcpu", "memory", "firmware", "type", "nvram", "coreosIgnition",
                       "fwCfgName", "filesystems", "disks", "graphics", "consoles", "cpu", "cmdlines", "tpm",
                       "xml"}),
    VOLUME: frozenset({"name", "pool", "source", "size", "format", "baseVolumeId", "baseVolumePool",
                       "baseVolumeName", "xml"}),
    CLOUD_INIT_DISK: frozenset({"name", "pool", "userData", "metaData", "networkConfig"}),
    NETWORK: frozenset({"name", "domain", "mode", "bridge", "addresses", "dhcp", "routes", "xml", "dns"}),
}


def forces_replacement(resource_type: str, changed_inputs: set[str] | list[str],
                       ignore_changes: list[str] = ()) -> list[str]:
    """The changed inputs that make the engine replace a resource of this type, sorted; inputs under
    ignore_changes are never diffed by the engine, so they force nothing."""
    replacing = REPLACE_ON_CHANGE.get(resource_type, frozenset())
    return sorted(name for name in changed_inputs if name in replacing and name not in ignore_changes)
