"""One cluster node made ready to join: packages, iSCSI sessions, filesystems, corosync files and the
secrets fencing needs. Both nodes run this in parallel; only the filesystem step differs (the primary
creates the filesystems, once)."""
from __future__ import annotations

import pulumi

from components.agents import service_agent_source
from components.remote_step import Host, step
from components.render import deletes, node_scripts
from components.render.corosync import render_corosync
from components.render.firewall import firewall_script, render_ruleset
from components.render.iscsi_initiator import iscsid_conf, login_script
from components.render.update import apt_keyring, apt_source_line, first_install_pin
from components.secrets import Secrets
from components.settings import Node, Settings


def _line(secret: pulumi.Output[str]) -> pulumi.Output[str]:
    return secret.apply(lambda value: value + "\n")


def first_install_step(node: Node) -> str:
    """The name of the node's first BlueMind install step: one per generation of its host."""
    return "bluemind-packages" + (f"-g{node.generation}" if node.generation else "")


class ClusterNode(pulumi.ComponentResource):
    def __init__(self, name: str, s: Settings, node: Node, host: Host, secrets: Secrets,
                 storage_ready: list[pulumi.Resource], opts: pulumi.ResourceOptions | None = None):
        super().__init__("bluemind-ha:cluster:Node", name, None, opts)
        preflight = step(host, "preflight", node_scripts.preflight(s, node), parent=self)
        packages = step(host, "cluster-packages", node_scripts.cluster_packages(s, node), parent=self,
                        depends_on=[preflight])
        # The first install's version only: a version change is the update chain's job, in the group's maintenance.
        apt_source = step(host, "bluemind-apt-source", node_scripts.bluemind_apt_source(s, node), parent=self,
                          secret=True, stdin=secrets.subscription_url.apply(lambda url: apt_source_line(url, apt_keyring(s))),
                          depends_on=[packages])
        # The first install's pin is kept from the step's creation on (ignore_changes): a version change is the
        # update chain's job, in the group's maintenance. The engine keeps an ignored input's first value for
        # as long as the resource lives (through a replace too), so a rebuilt node (nodes[].generation raised)
        # gets a new first-install step, pinned to the stack's version of today, not the first one's.
        bluemind = step(host, first_install_step(node), node_scripts.bluemind_packages(s, node), parent=self,
                        stdin=first_install_pin(s), create_only_stdin=True, depends_on=[apt_source])
        # After BlueMind's packages: the step masks bluemind.target, which they install.
        agents = step(host, "cluster-agents", node_scripts.cluster_agents(s, node), parent=self,
                      stdin=service_agent_source(), depends_on=[packages, bluemind], delete=deletes.cluster_agents_delete(s, node))
        iscsi = step(host, "iscsi-login", login_script(s, node), parent=self, secret=True,
                     stdin=pulumi.Output.all(secrets.chap_password, secrets.chap_mutual_password).apply(
                         lambda pw: iscsid_conf(s, *pw)),
                     depends_on=[packages] + storage_ready)
        # The primary seeds fresh filesystems from what the BlueMind packages installed locally.
        self.filesystems = step(host, "filesystems", node_scripts.filesystems(s, node), parent=self,
                                depends_on=[iscsi, bluemind])
        authkey = step(host, "corosync-authkey", node_scripts.corosync_authkey(s, node), parent=self, secret=True,
                       stdin=_line(secrets.corosync_authkey), depends_on=[packages])
        conf = step(host, "corosync-conf", node_scripts.corosync_conf(s, node), parent=self,
                    stdin=render_corosync(s), depends_on=[authkey])
        # A new resource, not an alias of the old hacluster-password step: the engine creates this one (the lock
        # runs) and deletes that one, which had no delete command, so nothing runs for it on the host, and its
        # secret stdin leaves the state.
        hacluster = step(host, "hacluster-lock", node_scripts.hacluster_lock(s, node), parent=self,
                         depends_on=[packages])
        # Before cluster-start (through self.ready): corosync must pass the firewall from its first packet.
        firewall = step(host, "firewall", firewall_script(s, node), parent=self,
                        stdin=render_ruleset(s, node) if s.firewall.enabled else None, depends_on=[packages])
        self.ready = [self.filesystems, conf, hacluster, agents, firewall]
        peer = s.peer_of(node)
        if s.fenced:
            self.ready.append(step(host, "bmc-password", node_scripts.bmc_password(s, node), parent=self,
                                   secret=True, stdin=_line(secrets.bmc_passwords[peer.name]), depends_on=[packages],
                                   delete=deletes.bmc_password_delete(s, node)))
        self.register_outputs({"name": node.name, "ip": node.ip, "iqn": node.iqn})

