"""Real-time sync of BlueMind's configuration from the active to the passive node (lsyncd over SSH).

Each node gets its lsyncd configuration (pushing to its peer) and trusts its peer's dedicated key, so
whichever node is active can push. lsyncd itself is started only by pacemaker, as a group member."""
from __future__ import annotations

import pulumi

from components.remote_step import Host, as_lines, step
from components.render import deletes, sync_scripts
from components.render.lsyncd import render_lsyncd_conf
from components.settings import Settings


class ConfigSync(pulumi.ComponentResource):
    def __init__(self, name: str, s: Settings, hosts: dict[str, Host], after: dict[str, list[pulumi.Resource]],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("bluemind-ha:sync:ConfigSync", name, None, opts)
        keys = {n.name: step(hosts[n.name], "sync-key", sync_scripts.sync_key(s, n), parent=self,
                             depends_on=after[n.name], delete=deletes.sync_key_delete(s, n)) for n in s.nodes}
        self.ready: list[pulumi.Resource] = []
        for n in s.nodes:
            peer = s.peer_of(n)
            self.ready.append(step(hosts[n.name], "sync-trust", sync_scripts.sync_trust(s, n), parent=self,
                                   stdin=keys[peer.name].stdout.apply(as_lines), depends_on=[keys[peer.name]],
                                   delete=deletes.sync_trust_delete(s, n)))
            self.ready.append(step(hosts[n.name], "sync-config", sync_scripts.sync_config(s, n), parent=self,
                                   stdin=render_lsyncd_conf(s, n), depends_on=after[n.name],
                                   delete=deletes.sync_config_delete(s, n)))
        self.register_outputs({})

