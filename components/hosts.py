"""Where the cluster runs: VMs on one libvirt hypervisor (a lab), or existing bare-metal hosts.

Both kinds end in the same thing: one `Host` per cluster node (and one for the storage host, when the stack
runs its own iSCSI target), which the other components run their steps on.
"""
from __future__ import annotations

import pulumi
import pulumi_libvirt as libvirt

from components.host_keys import made_host_key
from components.remote_step import Host, ssh_host, step
from components.render import cloudinit
from components.render.vbmc import vbmc_config, vbmc_script, virtualbmc_delete, virtualbmc_install
from components.settings import Settings

GIB = 1024 ** 3


def existing_hosts(s: Settings, ssh_key: pulumi.Output[str] | None) -> dict[str, Host]:
    """Bare metal: nothing to create, only where to connect."""
    hosts = {n.name: ssh_host(n.name, n.ip, n.ssh_user, ssh_key, host_key=n.ssh_host_key, generation=n.generation)
             for n in s.nodes}
    if s.storage.host:
        h = s.storage.host
        hosts[h.name] = ssh_host(h.name, h.ip, h.ssh_user, ssh_key, host_key=h.ssh_host_key)
    if s.qdevice:
        q = s.qdevice
        hosts[q.name] = ssh_host(q.name, q.ip, q.ssh_user, ssh_key, host_key=q.ssh_host_key)
    return hosts


class LibvirtLab(pulumi.ComponentResource):
    """The lab: a NAT network, the two node VMs and a storage VM sized from the settings, and VirtualBMC on
    the hypervisor so each node VM answers IPMI and is fenced by fence_ipmilan like production."""

    def __init__(self, name: str, s: Settings, ssh_key: pulumi.Output[str] | None,
                 bmc_passwords: dict[str, pulumi.Output[str]], opts: pulumi.ResourceOptions | None = None):
        super().__init__("bluemind-ha:hosts:LibvirtLab", name, None, opts)
        lv = s.libvirt
        provider = libvirt.Provider(f"{name}-hypervisor", uri=lv.uri, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        # Network, volumes and seed disks have fixed names in libvirt, which refuses a second one of the same
        # name (a Volume would even adopt the old one, then delete it): a replacement must delete first.
        named = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True))
        # What cannot come back: the base image every root disk is a copy-on-write layer of, and the LUNs.
        kept = pulumi.ResourceOptions.merge(named, pulumi.ResourceOptions(protect=True))
        network = libvirt.Network(
            f"{name}-network", name=lv.network_name, mode="nat", addresses=[str(s.network.subnet)],
            autostart=True, dhcp=libvirt.NetworkDhcpArgs(enabled=False),
            dns=libvirt.NetworkDnsArgs(enabled=True, local_only=True), opts=named)
        base = libvirt.Volume(f"{name}-base-image", name=f"{lv.network_name}-base.qcow2", pool=lv.pool,
                              source=lv.image_url, format="qcow2", opts=kept)

        self.hosts: dict[str, Host] = {}
        self.domains: dict[str, libvirt.Domain] = {}
        vms = [(n.name, n.ip, n.cores, n.ram_gb, None) for n in s.nodes]
        generations = {n.name: n.generation for n in s.nodes}
        if s.storage.host:
            h = s.storage.host
            # Sized once, at creation. A libvirt volume cannot be resized in place (every field of it is
            # ForceNew, tools/replacements.py): without ignore_changes, growing one LUN would delete this disk,
            # every LUN on it, and the storage VM it is attached to.
            data = libvirt.Volume(f"{name}-{h.name}-luns", name=f"{h.name}-luns.qcow2", pool=lv.pool, format="qcow2",
                                  size=sum(lun.size_gb for lun in s.storage.luns) * GIB + GIB,
                                  opts=pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(ignore_changes=["size"])))
            vms.append((h.name, h.ip, h.cores, h.ram_gb, data))
        if s.qdevice:  # the arbitrator: a small VM of its own (cluster.qdevice)
            vms.append((s.qdevice.name, s.qdevice.ip, s.qdevice.cores, s.qdevice.ram_gb, None))
        for vm_name, ip, cores, ram_gb, data_disk in vms:
            root = libvirt.Volume(f"{name}-{vm_name}-root", name=f"{vm_name}-root.qcow2", pool=lv.pool,
                                  base_volume_id=base.id, size=lv.root_disk_gb * GIB, format="qcow2", opts=named)
            host_key = made_host_key(f"{name}-{vm_name}", vm_name, parent=self)
            seed = libvirt.CloudInitDisk(f"{name}-{vm_name}-cloudinit", name=f"{vm_name}-cloudinit.iso", pool=lv.pool,
                                         user_data=pulumi.Output.all(host_key.private, host_key.public).apply(
                                             lambda pair, vm_name=vm_name: cloudinit.user_data(s, vm_name, *pair)),
                                         network_config=cloudinit.network_config(s, ip), opts=named)
            disks = [libvirt.DomainDiskArgs(volume_id=root.id)]
            if data_disk is not None:
                disks.append(libvirt.DomainDiskArgs(volume_id=data_disk.id))
            domain = libvirt.Domain(
                f"{name}-{vm_name}", name=vm_name, vcpu=cores, memory=ram_gb * 1024, autostart=True,
                # No guest agent and no `addresses`: the provider would wait for the agent's report of the
                # guest's addresses right after creating it, before cloud-init could install the agent
                # (terraform-provider-libvirt issue 1050); and with DHCP off the addresses are ignored on
                # create, then read back as a diff on every preview. cloud-init sets the static address.
                cloudinit=seed.id, disks=disks, qemu_agent=False,
                network_interfaces=[libvirt.DomainNetworkInterfaceArgs(network_id=network.id, hostname=vm_name)],
                # vcpu and memory are ForceNew: a resize replaces the domain (same disks). libvirt refuses a
                # second domain of the same name, so the old one must go first: a cold restart of the VM.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)))
            self.domains[vm_name] = domain
            self.hosts[vm_name] = ssh_host(vm_name, ip, "root", ssh_key, ready=(domain,), host_key=host_key.public,
                                           generation=generations.get(vm_name, 0))

        hypervisor = ssh_host("hypervisor", lv.hypervisor_address, lv.hypervisor_ssh_user, ssh_key,
                              host_key=lv.hypervisor_host_key)
        install = step(hypervisor, "virtualbmc-install", virtualbmc_install(), parent=self)
        self.bmcs = {
            n.name: step(hypervisor, f"virtualbmc-{n.name}", vbmc_script(s, n), parent=self, secret=True,
                         stdin=bmc_passwords[n.name].apply(lambda pw, n=n: vbmc_config(s, n, pw)),
                         depends_on=[install, self.domains[n.name]], delete=virtualbmc_delete(s, n))
            for n in s.nodes if n.bmc
        }
        self.register_outputs({"network": network.name, "domains": {k: d.name for k, d in self.domains.items()}})
