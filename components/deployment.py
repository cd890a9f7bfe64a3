"""The whole BlueMind HA deployment of one stack: hosts, storage, both nodes, the cluster."""
from __future__ import annotations

import pulumi

from components.cluster import Cluster
from components.cluster_node import ClusterNode
from components.config_sync import ConfigSync
from components.hosts import LibvirtLab, existing_hosts
from components.names import ISCSI_DATA_DIGEST, ISCSI_HEADER_DIGEST, QNETD_PORT, fence_id
from components.qdevice import QDevice
from components.render.recovery import cold_start_runbook, rebuild_runbook, rejoin_runbook
from components.render.runbooks import (
    manual_takeover_runbook,
    os_upgrade_runbook,
    switchover_commands,
    verify_script,
)
from components.secrets import Secrets
from components.settings import Settings
from components.storage import IscsiTarget
from components.update_chain import UpdateChain


class BlueMindHa(pulumi.ComponentResource):
    def __init__(self, name: str, s: Settings, secrets: Secrets, opts: pulumi.ResourceOptions | None = None):
        super().__init__("bluemind-ha:index:Deployment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # What must answer IPMI before the nodes check they can fence each other: the lab's VirtualBMCs;
        # a real BMC (iDRAC, iLO) is there already.
        bmcs: list[pulumi.Resource] = []
        if s.host_kind == "libvirt":
            lab = LibvirtLab(f"{name}-lab", s, secrets.ssh_private_key, secrets.bmc_passwords, opts=child)
            hosts, bmcs = lab.hosts, list(lab.bmcs.values())
        else:
            hosts = existing_hosts(s, secrets.ssh_private_key)

        storage_ready: list[pulumi.Resource] = []
        if s.storage.kind == "tgt":
            target = IscsiTarget(f"{name}-storage", s, hosts[s.storage.host.name], secrets.chap_password,
                                 secrets.chap_mutual_password, opts=child)
            storage_ready = [target.target]

        nodes = {n.name: ClusterNode(f"{name}-{n.name}", s, n, hosts[n.name], secrets, storage_ready, opts=child)
                 for n in s.nodes}
        if s.qdevice:
            # Before cluster-start (which waits for each node's ready list): the node's certificate for the arbitrator.
            arbitration = QDevice(f"{name}-qdevice", s, hosts[s.qdevice.name], hosts,
                                  {n: list(nodes[n].ready) for n in nodes}, opts=child)
            for n in nodes:
                nodes[n].ready.extend(arbitration.ready[n])
        sync = ConfigSync(f"{name}-sync", s, hosts, {n: nodes[n].ready for n in nodes}, opts=child)
        self.cluster = Cluster(f"{name}-cluster", s, hosts, nodes, extra_ready=sync.ready, bmcs=bmcs, opts=child)
        UpdateChain(f"{name}-update", s, hosts, after=[self.cluster.cib_push], opts=child)
        self.outputs = stack_outputs(s)
        self.register_outputs(self.outputs)


def stack_outputs(s: Settings) -> dict:
    """What an admin reads after `pulumi up` (and `pulumi stack output`): nothing secret."""
    return {
        "bluemind_url": f"https://{s.bluemind.url}/",
        "vip": s.network.vip,
        "failover": s.failover,
        "nodes": {n.name: n.ip for n in s.nodes},
        **({"qdevice": f"{s.qdevice.ip}:{QNETD_PORT} ({s.qdevice.name}, {s.qdevice.algorithm})"} if s.qdevice else {}),
        "target_iqn": s.storage.target_iqn,
        "portal": s.storage.portal,
        "luns": {lun.directory: {"lun": lun.number, "size_gb": lun.size_gb} for lun in s.storage.luns},
        "san_access": san_access(s),
        "fence_devices": {fence_id(n): f"ipmi://{n.bmc.address}:{n.bmc.port} ({n.bmc.username})"
                          for n in s.nodes if s.fenced},
        "switchover": switchover_commands(s),
        "manual_takeover": manual_takeover_runbook(s),
        "os_upgrade": os_upgrade_runbook(s),
        "verify": verify_script(s),
        "rejoin": rejoin_runbook(s),
        "cold_start": cold_start_runbook(s),
        "rebuild": rebuild_runbook(s),
    }


def san_access(s: Settings) -> dict:
    """What the storage side must admit before the first `pulumi up`: on an external SAN, the SAN admin
    adds these initiators to the target's ACL by address, with this CHAP user (the secret is `chap_password`),
    and makes the target answer their challenge as the mutual CHAP user (`chap_mutual_password`)."""
    return {
        "target_iqn": s.storage.target_iqn,
        "portal": f"{s.storage.portal}",
        "initiators": {n.name: {"iqn": n.iqn, "address": n.iscsi_ip} for n in s.nodes},
        "chap_username": s.storage.chap_username,
        "chap_secret": "the stack's secret bluemind-ha:chap_password",
        "chap_mutual_username": s.storage.chap_mutual_username,
        "chap_mutual_secret": "the stack's secret bluemind-ha:chap_mutual_password",
        "header_digest": ISCSI_HEADER_DIGEST, "data_digest": ISCSI_DATA_DIGEST,
    }
