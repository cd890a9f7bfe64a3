"""The cluster itself, once both nodes are ready: corosync and pacemaker started on both, each node's
check that it can fence its peer, then the CIB pushed from the primary. STONITH is enabled by that push,
so it only happens after both fence devices answered."""
from __future__ import annotations

import pulumi

from components.cluster_node import ClusterNode
from components.remote_step import Host, step
from components.render import node_scripts
from components.render.cib import render_cib
from components.render.fence_preflight import preflight_script
from components.settings import Settings


class Cluster(pulumi.ComponentResource):
    def __init__(self, name: str, s: Settings, hosts: dict[str, Host], nodes: dict[str, ClusterNode],
                 extra_ready: list[pulumi.Resource], bmcs: list[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("bluemind-ha:cluster:Cluster", name, None, opts)
        both_ready = [r for n in nodes.values() for r in n.ready]
        # After BOTH filesystems steps: either node may have created or labelled a LUN (the one running the group).
        both_ready += [step(hosts[n.name], "filesystem-labels", node_scripts.filesystem_labels(s, n), parent=self,
                            depends_on=[nodes[m.name].filesystems for m in s.nodes]) for n in s.nodes]
        starts = [step(hosts[n.name], "cluster-start", node_scripts.cluster_start(s, n), parent=self,
                       depends_on=both_ready) for n in s.nodes]
        preflights = []
        if s.fenced:
            preflights = [step(hosts[n.name], "fence-preflight", preflight_script(s, n), parent=self,
                               depends_on=both_ready + bmcs) for n in s.nodes]
        self.cib = render_cib(s)
        primary = s.nodes[0]
        self.cib_push = step(hosts[primary.name], "cib-push", node_scripts.cib_push(s, primary), parent=self,
                             stdin=self.cib, depends_on=starts + preflights + extra_ready)
        self.register_outputs({"cib_push": self.cib_push.id})
