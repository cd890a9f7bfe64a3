"""What the active node replicates to the passive one in real time (lsyncd), and what it never replicates.

Decision: an explicit allow-list, not "/etc as a whole with exclusions". BlueMind's HA page says its
configuration "is located under /etc"; copying all of /etc would also copy package state (dpkg conffiles of
packages upgraded at different moments), /etc/passwd and /etc/shadow (system users whose uids each node
allocated itself), and every node-specific file whose absence from an exclusion list nobody notices
until a failover. So we list BlueMind's own /etc trees and the files of its services (sources: the seed,
../shared/reference/bluemind.md, and BlueMind's "change distribution" procedure, which copies exactly these
from an old server to a new one), plus the seed's extra files and the stack's `sync.extra_paths`.

The exclusions still matter: they are applied to every synced tree (first match wins), so a node-specific
file is never copied even when an admin adds a broad tree such as /etc to `sync.extra_paths`.

lsyncd watches directories, not files: each path is watched through its parent directory ("root"), with
an rsync filter that includes only the listed names. Parents exist on every BlueMind host even when a
listed path does not (a 4.x-only path on 5.x): a missing name is simply never sent.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

from components.names import SYNC_BACKUP_DIR, SYNC_STAMP
from components.settings import Settings


@dataclass(frozen=True)
class SyncPath:
    path: str
    reason: str


# What is replicated. `path` may be a file or a directory (a directory is replicated with its content).
SYNCED = (
    SyncPath("/etc/bm", "BlueMind's own configuration: bm.ini, bm-core.tok, mcast.id, heap sizing default/ and local/"),
    SyncPath("/etc/bm-hps", "4.x authentication proxy (hps) configuration"),
    SyncPath("/etc/bm-webmail", "4.x webmail and file-hosting configuration BlueMind writes"),
    SyncPath("/etc/bm-eas", "ActiveSync client-access configuration"),
    SyncPath("/etc/bm-mapi", "MAPI client-access configuration"),
    SyncPath("/etc/nginx", "bm-nginx virtual hosts, mail proxy and DH parameters BlueMind generates"),
    SyncPath("/etc/postfix", "main.cf, master.cf and the transport/virtual maps BlueMind regenerates"),
    SyncPath("/etc/imapd.conf", "4.x Cyrus IMAP server configuration"),
    SyncPath("/etc/cyrus.conf", "4.x Cyrus service configuration"),
    SyncPath("/etc/postgresql", "PostgreSQL's configuration (data lives on the shared LUN /var/lib/postgresql)"),
    SyncPath("/etc/aliases", "seed: local mail aliases"),
    SyncPath("/etc/aliases.db", "seed: compiled aliases postfix reads"),
    SyncPath("/etc/sysctl.conf", "seed: kernel settings BlueMind's services expect"),
    SyncPath("/etc/ssl/certs/bm_cert.pem", "seed: the server certificate nginx, postfix and cyrus present"),
    SyncPath("/var/lib/bm-ca/ca-cert.pem", "seed: BlueMind's internal CA certificate"),
    SyncPath("/usr/share/bm-elasticsearch/config/elasticsearch.yml", "seed: Elasticsearch configuration"),
    SyncPath(SYNC_STAMP, "bluemind-ha: which node pushes since when; a node without it never received a sync"),
)

# What is never replicated, even inside a synced tree. Each of these differs per node, or is pushed to
# each node by `pulumi up` from the stack's settings and secrets, which stay the only source of truth.
NEVER_SYNCED = (
    SyncPath("/etc/hostname", "each node's own name (corosync and pacemaker identify nodes by it)"),
    SyncPath("/etc/hosts", "maps this node's own name to its own address"),
    SyncPath("/etc/machine-id", "systemd/journald identity; duplicates break DHCP, journald and D-Bus"),
    SyncPath("/etc/network", "each node's own addresses (ifupdown)"),
    SyncPath("/etc/netplan", "each node's own addresses (netplan)"),
    SyncPath("/etc/systemd/network", "each node's own addresses (systemd-networkd)"),
    SyncPath("/etc/NetworkManager/system-connections", "each node's own addresses (NetworkManager)"),
    SyncPath("/etc/resolv.conf", "written per node by the network stack"),
    SyncPath("/etc/ssh", "SSH host keys: the peer would impersonate this node"),
    SyncPath("/etc/iscsi", "initiatorname.iscsi is this node's iSCSI identity (LUN ACLs); iscsid.conf holds its CHAP secret"),
    SyncPath("/etc/corosync", "corosync.conf and authkey are pushed by pulumi up; copying mid-change splits the cluster"),
    SyncPath("/etc/pacemaker", "pacemaker's node-local settings"),
    SyncPath("/var/lib/pacemaker", "the CIB and cluster state: pacemaker replicates them itself"),
    SyncPath("/var/lib/corosync", "corosync's node-local state"),
    SyncPath("/etc/fstab", "node-local mounts; the shared LUNs are mounted by pacemaker, never by fstab"),
    SyncPath("/etc/bluemind-ha", "BMC passwords for fencing, written from Pulumi secrets"),
    SyncPath("/etc/lsyncd", "this node's lsyncd configuration: it names the peer as its target"),
    SyncPath("/etc/apt", "package sources and the version pin are managed per node by the update procedure"),
    SyncPath("/etc/passwd", "system users and uids each node allocated itself"),
    SyncPath("/etc/shadow", "local account passwords"),
    SyncPath("/etc/group", "system groups and gids each node allocated itself"),
    SyncPath("/etc/gshadow", "local group passwords"),
    SyncPath("/etc/lvm", "LVM system_id and device cache are per node"),
    SyncPath("/etc/mtab", "the kernel's view of this node's mounts"),
    SyncPath("/etc/adjtime", "this node's hardware clock drift"),
)


@dataclass(frozen=True)
class SyncRoot:
    """One directory lsyncd watches, and the rsync filter (first match wins) of what it sends from it."""

    directory: str
    filter_rules: tuple[str, ...]

    @property
    def sender_rules(self) -> tuple[str, ...]:
        """What the sending node's rsync is given: the receiver's backups (SYNC_BACKUP_DIR, inside the root)
        are never sent, and so never deleted (no --delete-excluded) on the receiver either."""
        return (f"- /{SYNC_BACKUP_DIR}/", *self.filter_rules)

    @property
    def receiver_rules(self) -> tuple[str, ...]:
        """The receiving daemon's filter: the allow-list, and the backup directory, which rsync refuses as
        --backup-dir when the daemon's filter excludes it (so a peer can never aim it at /etc/cron.d)."""
        return (f"+ /{SYNC_BACKUP_DIR}/***", *self.filter_rules)

    @property
    def module(self) -> str:
        """Its rsync daemon module on the receiving node (lsyncd pushes to `peer::module`)."""
        return self.directory.strip("/").replace("/", "-")


def synced_paths(s: Settings) -> tuple[str, ...]:
    return tuple(dict.fromkeys([p.path for p in SYNCED] + [_normal(p) for p in s.sync.extra_paths]))


def excluded_paths(s: Settings) -> tuple[str, ...]:
    return tuple(dict.fromkeys([p.path for p in NEVER_SYNCED] + [_normal(p) for p in s.sync.extra_excludes]))


def _normal(path: str) -> str:
    return posixpath.normpath(path)


def _below(path: str, directory: str) -> bool:
    return directory == "/" or path == directory or path.startswith(directory + "/")


def _watched_directory(path: str) -> str:
    """A path is watched through its parent, but a top-level path (an admin's /etc or /opt) is itself the
    watched directory: lsyncd must never watch the whole filesystem."""
    parent = posixpath.dirname(path)
    return path if parent == "/" else parent


def sync_roots(s: Settings) -> tuple[SyncRoot, ...]:
    """The watched directories, nested ones merged into the outermost one."""
    parents = sorted({_watched_directory(p) for p in synced_paths(s)}, key=lambda d: (d.count("/"), d))
    outermost: list[str] = []
    for directory in parents:
        if not any(_below(directory, kept) for kept in outermost):
            outermost.append(directory)
    return tuple(SyncRoot(d, _filter_rules(d, s)) for d in sorted(outermost))


def _relative(path: str, root: str) -> str:
    return "/" + posixpath.relpath(path, root)


def _filter_rules(root: str, s: Settings) -> tuple[str, ...]:
    if any(_below(root, p) for p in excluded_paths(s)):
        # The whole root lies in a never-synced path (an admin listed /var/lib/pacemaker/cib/cib.xml): nothing
        # in it may go, whatever an include says.
        return ("- *",)
    rules = [f"- {_relative(p, root)}" for p in excluded_paths(s) if _below(p, root) and p != root]
    if root in synced_paths(s):
        return tuple(rules)  # the whole directory is synced: only the exclusions filter it
    for path in (p for p in synced_paths(s) if _below(p, root)):
        relative = _relative(path, root)
        parts = relative.strip("/").split("/")
        # rsync only descends into directories that are themselves included.
        rules += ["+ /" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]
        rules += [f"+ {relative}", f"+ {relative}/***"]  # the name, and everything below it if it is a directory
    rules.append("- *")
    return tuple(dict.fromkeys(rules))
