"""The small sections: bluemind, failover, network, hosts, cluster, sync and firewall."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from components import sizing
from components.settings import grammar as g
from components.settings import schema as sc
from components.settings.errors import NAMESPACE, Problems, SettingsError
from components.settings.model import BlueMind, ClusterOptions, FailoverMode, Firewall, HostKind, Libvirt, Network, Sync
from components.settings.reader import Obj, convert

# The seed's safety rules, quoted in the refusals so the admin reads the reason, not just the rule.
SEED_NO_STONITH = (
    "BlueMind's HA page: without STONITH, automatic changeover must not be enabled, otherwise you may end up "
    "with a split-brain and corrupted data, which BlueMind support does not cover"
)
SEED_NO_NFS = (
    "BlueMind's HA page: cyrus-imap does not support NFS; /var/spool/cyrus and /var/lib/cyrus need "
    "block storage (Fibre Channel or iSCSI)"
)


def top(config: Mapping[str, Any], key: str, problems: Problems, required: bool = True) -> Obj:
    raw = config.get(key)
    if raw is None:
        if required:
            raise SettingsError(key, "is required", f"add `{NAMESPACE}:{key}` to stacks/Pulumi.<stack>.yaml "
                                "(README, Configuration reference)")
        raw = {}
    return Obj(raw, key, key, problems)


def host_key(h: Obj, host_kind: HostKind | None, whose: str) -> str | None:
    """A host's `ssh_host_key`: required for an existing host (every SSH connection pins it), refused for a
    libvirt VM (the program generates its key)."""
    key = h.read("ssh_host_key")
    if host_kind == HostKind.EXISTING and key is None and not h.has("ssh_host_key"):
        h.fail(h.key("ssh_host_key"), "is required for an existing host: every SSH connection pins it",
               f"set it to {whose} /etc/ssh/ssh_host_ed25519_key.pub line")
    if host_kind == HostKind.LIBVIRT and key is not None:
        h.fail(h.key("ssh_host_key"), "is only for existing hosts: the program generates a VM's host key", "remove it")
    return key


def bluemind(config: Mapping[str, Any], p: Problems) -> BlueMind:
    o = top(config, "bluemind", p)
    raw_version = o.raw.get("version")
    if isinstance(raw_version, (int, float)) and not isinstance(raw_version, bool):
        o.fail(o.key("version"), f"is the YAML number {raw_version!r}, not text: an unquoted 5.10 arrives as 5.1",
               'quote it: version: "5.3.2"')
        version = None
    else:
        version = o.read("version")
    major, minor = 5, 0
    if version is not None:
        match = re.fullmatch(g.VERSION.pattern, version)
        major, minor = int(match.group(1)), int(match.group(2))
        if major not in sizing.SUPPORTED_MAJORS:
            o.fail(o.key("version"), f"must be a BlueMind 4.x or 5.x version, got {version!r}",
                   'set it like version: "5.3.2"')
    profile = o.read("profile", choices=sizing.profiles_for(major, minor))
    url = o.read("url")
    users = o.read("users")
    quota = o.read("mailbox_quota_gb")
    repo = o.read("apt_repository")
    allow_downgrade = o.read("allow_downgrade")
    signing_key = o.read("apt_signing_key")
    if repo:
        part = g.subscription_id_like(repo)
        if part:
            o.fail(o.key("apt_repository"), f"has a path component that looks like a subscription id ({part!r}); "
                   "it would be in plain text in the stack file, in state and in every host's process list",
                   "set the repository without it (https://pkg.bluemind.net/bm/5.3/bookworm) and the full URL as "
                   f"a secret: pulumi config set --secret {NAMESPACE}:subscription_url <url>")
    o.done()
    return BlueMind(version=version, major=major, minor=minor, url=url, users=users, profile=profile,
                    mailbox_quota_gb=quota if quota is not None else float(sizing.default_quota_gb(profile)),
                    apt_repository=repo, allow_downgrade=allow_downgrade,
                    apt_signing_key=signing_key)


def failover(config: Mapping[str, Any], p: Problems) -> FailoverMode:
    raw = config.get("failover")
    spec = sc.key("failover")
    return FailoverMode(spec.default if raw is None else convert(spec, raw, "failover"))


def network(config: Mapping[str, Any], p: Problems) -> Network:
    o = top(config, "network", p)
    net = Network(subnet=o.read("subnet"), vip=o.read("vip"), gateway=o.read("gateway"), dns=o.read("dns"),
                  nic=o.read("nic"), link1_subnet=o.read("link1_subnet"),
                  storage_subnet=o.read("storage_subnet"))
    o.done()
    return net


def hosts(config: Mapping[str, Any], p: Problems) -> tuple[HostKind, Libvirt | None]:
    o = top(config, "hosts", p)
    kind = o.read("kind")
    o.done()
    kind = HostKind(kind)
    if kind != HostKind.LIBVIRT:
        if o.has("libvirt"):
            o.fail(o.key("libvirt"), "is only for hosts.kind: libvirt", "remove it, or use kind: libvirt")
        return kind, None
    lv = o.obj("libvirt", required=True)
    if lv is None:
        o.done()
    libvirt = Libvirt(uri=lv.read("uri"), hypervisor_address=lv.read("hypervisor_address"),
                      hypervisor_ssh_user=lv.read("hypervisor_ssh_user"), pool=lv.read("pool"),
                      image_url=lv.read("image_url"), network_name=lv.read("network_name"),
                      root_disk_gb=lv.read("root_disk_gb"), ssh_public_key=lv.read("ssh_public_key"),
                      hypervisor_host_key=lv.read("hypervisor_host_key"))
    lv.done()
    return kind, libvirt


def cluster(config: Mapping[str, Any], p: Problems, mode: FailoverMode | None,
            host_kind: HostKind | None = None) -> ClusterOptions:
    from components.settings.qdevice import qdevice  # it builds on this module's helpers

    o = top(config, "cluster", p, required=False)
    device = qdevice(o, host_kind, mode)
    if mode == FailoverMode.MANUAL and o.has("migration_threshold"):
        o.fail(o.key("migration_threshold"), "moves the group after failures, an automatic changeover that "
               f"failover: manual never makes ({SEED_NO_STONITH})",
               "remove it (a failing service is restarted in place), or declare IPMI fencing and use failover: "
               "automatic")
    recipients = o.read("alert_recipient")
    options = ClusterOptions(
        name=o.read("name"), token_ms=o.read("token_ms"), stickiness=o.read("stickiness"),
        migration_threshold=o.read("migration_threshold"), failure_timeout_s=o.read("failure_timeout_s"),
        priority_fencing_delay_s=o.read("priority_fencing_delay_s"), stonith_timeout_s=o.read("stonith_timeout_s"),
        ipmi_cipher=o.read("ipmi_cipher"), alert_recipient=recipients[0] if recipients else None,
        alert_recipients=recipients or (), ping_targets=o.read("ping_targets") or (),
        alert_relay=o.read("alert_relay"), qdevice=device)
    o.done()
    if options.alert_recipients and not options.alert_relay:
        o.fail("cluster.alert_recipient", "is set without cluster.alert_relay: the alerts would go through the "
               "node's own postfix, which is stopped (or its spool hidden under the LUN mount) during exactly the "
               "failovers and fences they report", "set cluster.alert_relay to an SMTP relay that accepts mail "
               "from both nodes (smtp.example.com:25)")
    if o.has("ping_targets") and not options.ping_targets:
        o.fail("cluster.ping_targets", "is an empty list: nothing would watch the uplink",
               "list the gateway (and other always-on addresses), or leave the key out for network.gateway")
    if len(set(options.ping_targets)) != len(options.ping_targets):
        o.fail("cluster.ping_targets", "lists an address twice", "list each address once")
    if options.ipmi_cipher not in (3, 17):
        o.fail("cluster.ipmi_cipher", f"cipher suite {options.ipmi_cipher} is refused",
               "use 3 (AES-128, HMAC-SHA1; nearly every IPMI 2.0 BMC) or 17 (SHA-256) if your BMCs "
               "support it: 0 skips authentication, 1 and 2 do not encrypt")
    # With an arbitrator neither delay is set (FailoverPolicy).
    delays = 0 if device else options.priority_fencing_delay_s + options.priority_fencing_delay_s // 2
    if options.stonith_timeout_s <= delays:
        o.fail("cluster.stonith_timeout_s", "must exceed cluster.priority_fencing_delay_s plus the primary's "
               f"static fence delay (half of it): {delays} s",
               "the fence operation's timeout includes the delays; raise stonith_timeout_s")
    return options


def sync(config: Mapping[str, Any], p: Problems) -> Sync:
    o = top(config, "sync", p, required=False)
    paths, excludes = o.read("extra_paths"), o.read("extra_excludes")
    o.done()
    for i, path in enumerate(paths):
        if path in g.SYSTEM_DIRECTORIES:
            o.fail(f"sync.extra_paths[{i}]", f"{path} is a system directory: syncing it would copy dpkg state, "
                   "host identity and every other node-local file", "list the application's own directory or file")
    for name, items in (("extra_paths", paths), ("extra_excludes", excludes)):
        if len(set(items)) != len(items):
            o.fail(f"sync.{name}", "lists a path twice", "list each path once")
    return Sync(extra_paths=paths, extra_excludes=excludes)


def firewall(config: Mapping[str, Any], p: Problems, network: Network | None) -> Firewall:
    o = top(config, "firewall", p, required=False)
    enabled, networks, output = o.read("enabled"), o.read("admin_networks"), o.read("output")
    o.done()
    if networks is None:
        # The nodes' own subnet: where the peer, and in a lab the hypervisor running pulumi, already are.
        networks = (network.subnet,) if network is not None else ()
    elif not networks:
        o.fail("firewall.admin_networks", "is an empty list: nobody could reach the nodes over SSH, pulumi included",
               "list the networks of the machines that run pulumi and of the admins (10.20.0.0/24), or remove the "
               "key (the nodes' subnet)")
    if len(set(networks)) != len(networks):
        o.fail("firewall.admin_networks", "lists a network twice", "list each network once")
    return Firewall(enabled=enabled, admin_networks=tuple(networks), strict_output=output == "strict")
