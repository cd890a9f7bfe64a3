"""BlueMind's update procedure for an HA pair, as resources (the seed's "Managing the BlueMind update"):
the BlueMind group's maintenance on (fencing stays armed) -> packages updated on both nodes (in parallel) ->
post-installation on the node that holds the VIP only (found at run time) -> the group's maintenance off ->
cluster state checked.

The chain runs when the stack's BlueMind version changes (its scripts name the version): each step is an
in-place update, run in dependency order. On the first `pulumi up` it only records the version: the first
install is the nodes' bluemind-packages step. A failing step stops the chain, and the group stays in
maintenance (never half-enabled HA; fencing stays armed); the failing script says what to do next.
"""
from __future__ import annotations

import pulumi

from components.remote_step import Host, step
from components.render import update
from components.settings import Settings


class UpdateChain(pulumi.ComponentResource):
    def __init__(self, name: str, s: Settings, hosts: dict[str, Host], after: list[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("bluemind-ha:update:UpdateChain", name, None, opts)
        armed = update.chain_armed_script(s)
        primary = hosts[s.nodes[0].name]

        def chain_step(host: Host, step_name: str, body: str, depends_on: list[pulumi.Resource]):
            return step(host, step_name, body, parent=self, on_create=armed, depends_on=depends_on)

        on = chain_step(primary, "update-maintenance-on", update.maintenance_on_script(s), after)
        packages = [chain_step(hosts[n.name], "update-packages", update.package_update_script(s, n), [on])
                    for n in s.nodes]
        post = [chain_step(hosts[n.name], "update-post-install", update.post_install_script(s, n), packages)
                for n in s.nodes]
        off = chain_step(primary, "update-maintenance-off", update.maintenance_off_script(s), post)
        self.check = chain_step(primary, "update-check", update.cluster_check_script(s), [off])
        self.register_outputs({"version": s.bluemind.version})
