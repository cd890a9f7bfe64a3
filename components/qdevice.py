"""The arbitrator (cluster.qdevice): corosync-qnetd on a third host, and each node's corosync-qdevice with a
certificate of the arbitrator's CA. Each certificate moves as one step's stdout into the next step's stdin
(public material only: components/render/qdevice_scripts.py)."""
from __future__ import annotations

import pulumi

from components.remote_step import Host, as_lines, step
from components.render import qdevice_scripts
from components.settings import Settings


class QDevice(pulumi.ComponentResource):
    def __init__(self, name: str, s: Settings, arbitrator: Host, nodes: dict[str, Host],
                 after: dict[str, list[pulumi.Resource]], opts: pulumi.ResourceOptions | None = None):
        super().__init__("bluemind-ha:cluster:QDevice", name, None, opts)
        qnetd = step(arbitrator, "qnetd", qdevice_scripts.qnetd(s), parent=self)
        # What cluster-start waits for on each node: its certificate imported, corosync-qdevice wired to corosync.
        self.ready: dict[str, list[pulumi.Resource]] = {}
        for n in s.nodes:
            request = step(nodes[n.name], "qdevice-request", qdevice_scripts.qdevice_request(s, n), parent=self,
                           stdin=qnetd.stdout.apply(as_lines), depends_on=[qnetd] + after[n.name])
            signed = step(arbitrator, f"qnetd-sign-{n.name}", qdevice_scripts.qnetd_sign(s, n), parent=self,
                          stdin=request.stdout.apply(as_lines), depends_on=[request])
            self.ready[n.name] = [step(nodes[n.name], "qdevice-cert", qdevice_scripts.qdevice_cert(s, n),
                                       parent=self, stdin=signed.stdout.apply(as_lines), depends_on=[signed])]
        self.register_outputs({"arbitrator": s.qdevice.ip})
