"""The iSCSI target on the storage host (kind: tgt): logical volumes for the LUNs and the tgt target that
serves them to the two nodes only, with mutual CHAP. An external SAN (kind: external) declares nothing here."""
from __future__ import annotations

import pulumi

from components.remote_step import Host, step
from components.render import storage_scripts
from components.render.tgt import render_targets_conf
from components.settings import Settings


class IscsiTarget(pulumi.ComponentResource):
    def __init__(self, name: str, s: Settings, host: Host, chap_password: pulumi.Output[str],
                 chap_mutual_password: pulumi.Output[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("bluemind-ha:storage:IscsiTarget", name, None, opts)
        packages = step(host, "storage-packages", storage_scripts.storage_packages(s), parent=self)
        volumes = step(host, "storage-volumes", storage_scripts.storage_volumes(s), parent=self, depends_on=[packages])
        self.target = step(host, "storage-target", storage_scripts.storage_targets(s), parent=self, secret=True,
                           stdin=pulumi.Output.all(chap_password, chap_mutual_password).apply(
                               lambda pw: render_targets_conf(s, *pw)), depends_on=[volumes])
        self.register_outputs({"target_iqn": s.storage.target_iqn, "portal": s.storage.portal})
