"""lsyncd: the active node pushes BlueMind's configuration to its peer in real time.

lsyncd runs as the last member of the pacemaker group (svc-lsyncd), so it runs only on the active node and
the direction of the sync follows the group. Each node has its own configuration (it names the peer as
target), rendered by `render_lsyncd_conf`; `lsyncd_conf` is the same text with the transport left open, so
a test runs the real lsyncd and rsync between two local directory trees, without ssh.

A stale node never overwrites newer configuration: the unit's start-up guard (SYNC_GUARD, rendered by
sync_scripts.sync_guard) compares with the peer first, what the receiver replaces or deletes is kept in a
dated backup directory, and a sync that keeps failing stops lsyncd so that the cluster's monitor alerts.
"""
from __future__ import annotations

from collections.abc import Callable

from components.names import LSYNCD_CONF as CONFIG_PATH
from components.names import LSYNCD_LOG_DIR as LOG_DIR
from components.names import SYNC_BACKUP_DIR, SYNC_GUARD, SYNC_KEY, SYNC_KNOWN_HOSTS, SYNC_RSYNCD_CONF
from components.settings import Node, Settings
from components.sync_paths import SyncRoot, sync_roots

# What the peer's sync key may run on this node: the forced command of its authorized_keys entry
# (sync_scripts.sync_trust): an rsync daemon for this one connection, on a configuration of ours
# (render_rsyncd_conf) whose modules are the synced roots, write-only, chrooted, and filtered by the same
# allow-list the sender applies. A peer's key can thus neither read a file here nor write outside the
# allow-list, and never a device node. (rrsync, rooted at "/", confined nothing: Debian's rrsync turns its
# confinement on only for a directory other than "/".)
SYNC_SERVER_COMMAND = f"/usr/bin/rsync --server --daemon --config={SYNC_RSYNCD_CONF} ."
# Seconds lsyncd gathers events before it runs rsync: short, yet one rsync for a burst such as a postmap.
DELAY_S = 2
# A sync that has failed without a pause for this long (a peer down, a broken key, a full disk on the peer)
# stops lsyncd: pacemaker's monitor of its unit fails, which mails the alert and shows in crm_mon, and the
# restart runs the start-up guard again. Longer than a peer's reboot would be quieter, but a silent
# backlog is exactly what let a stale node become the source at the next switchover.
FAILING_LIMIT_S = 300
# The dated backup directory: the date of lsyncd's start, evaluated by lsyncd (the rendered text stays the
# same bytes), so each activation of a node keeps its own. The start-up pass, a full sync that replaces
# whatever differs on the peer (newer files too, when this node was stale), keeps its victims apart in
# STARTUP_SUFFIX: the later syncs of the same files never overwrite those backups. (The start-up pass is told
# by swapping its entry in lsyncd's computed rsync options while default.rsync.init spawns it: lsyncd's
# internals, proven with Debian 12's lsyncd 2.2.3 by tests/realtools/test_sync_staleness.py.)
_BACKUP_DIR_LUA = f'"{SYNC_BACKUP_DIR}/" .. os.date("!%Y%m%dT%H%M%SZ")'
STARTUP_SUFFIX = "-startup"


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ssh_command(key: str = SYNC_KEY, known_hosts: str = SYNC_KNOWN_HOSTS) -> str:
    """The rsync transport: the dedicated key only, never a password prompt, the peer's pinned host key."""
    return (f"/usr/bin/ssh -i {key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes "
            f"-o UserKnownHostsFile={known_hosts} -o ConnectTimeout=10")


def lsyncd_conf(s: Settings, title: str, source_prefix: str, target: Callable[[SyncRoot], str], rsh: str | None,
                log_dir: str = LOG_DIR, failing_limit_s: int = FAILING_LIMIT_S) -> str:
    """The lsyncd Lua configuration that replicates `sync_roots(s)`: each root `R` is read from
    `source_prefix + R` and written to `target(R)` (the peer's rsync module `root@peer::M/` in production, a
    local directory in a test), with `rsh` as rsync's remote shell (None: local copy). What the receiver
    overwrites or deletes goes to a dated backup directory inside the root; a sync that keeps failing for
    `failing_limit_s` stops lsyncd (see FAILING_LIMIT_S)."""
    lines = [
        f"-- bluemind-ha: {title}",
        "-- What is synced, and what never is: components/sync_paths.py (README, Configuration sync).",
        "settings {",
        f"    logfile = {_lua(log_dir + '/lsyncd.log')},",
        f"    statusFile = {_lua(log_dir + '/lsyncd.status')},",
        # After a failover the peer is usually down: keep running and retry, instead of failing the start
        # of a group member and with it the whole failover.
        "    insist = true,",
        "}",
        "",
        f"local backup_dir = {_BACKUP_DIR_LUA}",
        "",
        "-- The start-up pass backs up into a directory of its own: its rsync options, while it spawns.",
        "local function startup(event)",
        "    local computed, usual = event.config.rsync._computed, \"--backup-dir=\" .. backup_dir",
        "    for i, arg in ipairs(computed) do",
        f"        if arg == usual then computed[i] = usual .. {_lua(STARTUP_SUFFIX)} end",
        "    end",
        "    default.rsync.init(event)",
        "    for i, arg in ipairs(computed) do",
        f"        if arg == usual .. {_lua(STARTUP_SUFFIX)} then computed[i] = usual end",
        "    end",
        "end",
        "",
        "-- Each root's rsync results: lsyncd retries a failing rsync forever and silently (insist, and",
        "-- \"again\" for a lost connection); one that keeps failing ends lsyncd, so the cluster sees it.",
        "local function watched(root)",
        "    local failing_since = nil",
        "    return function(agent, exitcode)",
        "        local verdict = default.collect(agent, exitcode)",
        "        if verdict ~= \"again\" then",
        "            failing_since = nil",
        "        elseif failing_since == nil then",
        "            failing_since = os.time()",
        f"        elseif os.time() - failing_since >= {failing_limit_s} then",
        "            log(\"Error\", \"bluemind-ha: the sync of \", root, \" has failed for \",",
        "                os.time() - failing_since, \" s (last rsync exit code \", exitcode,",
        "                \"): lsyncd stops, so that the cluster's monitor of it fails and alerts\")",
        "            terminate(-1)",
        "        end",
        "        return verdict",
        "    end",
        "end",
    ]
    for root in sync_roots(s):
        lines += [
            "",
            "sync {",
            "    default.rsync,",
            f"    source = {_lua(source_prefix + root.directory + '/')},",
            f"    target = {_lua(target(root))},",
            f"    delay = {DELAY_S},",
            "    init = startup,",
            f"    collect = watched({_lua(root.directory)}),",
            # Deleting on the peer what was deleted here keeps the copy exact; files the filter excludes are
            # never deleted on the peer (no --delete-excluded), so its node-specific files stay.
            "    delete = true,",
            "    filter = {",
            *[f"        {_lua(rule)}," for rule in root.sender_rules],
            "    },",
            "    rsync = {",
            # archive without devices and specials (-D), which the receiving daemon refuses: symlinks,
            # permissions, times, owner and group (lsyncd always adds recursion).
            "        archive = false,",
            "        links = true,",
            "        perms = true,",
            "        times = true,",
            "        owner = true,",
            "        group = true,",
            "        hard_links = true,",
            "        acls = true,",
            "        xattrs = true,",
            *([f"        rsh = {_lua(rsh)},"] if rsh else []),
            # What the receiver overwrites or deletes is moved to the dated backup directory, never lost.
            '        _extra = { "--backup-dir=" .. backup_dir },',
            "    },",
            "}",
        ]
    return "\n".join(lines) + "\n"


def render_lsyncd_conf(s: Settings, node: Node) -> str:
    """/etc/lsyncd/lsyncd.conf.lua of `node`: when `node` is active, it pushes to `s.peer_of(node)` as root
    over SSH with the dedicated key SYNC_KEY (the peer authorizes it for rsync only, see the README)."""
    peer = s.peer_of(node)
    return lsyncd_conf(s, f"{node.name} pushes BlueMind's configuration to {peer.name} while it is active",
                       source_prefix="", target=lambda root: f"root@{peer.ip}::{root.module}/", rsh=ssh_command())


def render_rsyncd_conf(s: Settings) -> str:
    """What the peer's lsyncd may write on a node (SYNC_RSYNCD_CONF, read by SYNC_SERVER_COMMAND): one module
    per synced root, write-only (nothing here can be read through it), chrooted to its root, no device or
    special file, and the sender's own allow-list as the daemon's filter, which the client cannot override:
    a path outside it is refused, never written and never deleted. Ownership is kept (uid/gid root)."""
    lines = [
        "# bluemind-ha: what the peer's lsyncd may write here (rsync daemon over SSH, one module per synced root).",
        "# Nothing can be read through it, nothing written outside the allow-list (components/sync_paths.py).",
        "use chroot = yes",
        "read only = no",
        "write only = yes",
        "list = no",
        "uid = root",
        "gid = root",
        "numeric ids = yes",
        "munge symlinks = no",
        # D: devices and specials (-a implies it: the sender sends what -a means without -D).
        "refuse options = D devices specials copy-devices write-devices delete-excluded",
        "transfer logging = no",
    ]
    for root in sync_roots(s):
        # A daemon filter is split at spaces: each rule in its "+_pattern" form.
        rules = " ".join(rule.replace(" ", "_", 1) for rule in root.receiver_rules)
        lines += ["", f"[{root.module}]", f"    path = {root.directory}", f"    filter = {rules}"]
    return "\n".join(lines) + "\n"


def render_lsyncd_unit() -> str:
    """/etc/systemd/system/lsyncd.service. Debian ships only an init script, whose generated unit stays
    "active" after the daemon dies (RemainAfterExit): pacemaker's systemd monitor would never see a
    crash. This unit runs lsyncd in the foreground, so the unit is active exactly while lsyncd runs.
    Before lsyncd starts, the guard compares this node's files with the peer's and fails the start when the
    peer has newer ones (SYNC_GUARD check). Never enabled: pacemaker starts it on the active node."""
    return f"""[Unit]
Description=lsyncd: replicate BlueMind's configuration to the passive node (bluemind-ha)
After=network-online.target
ConditionPathExists={CONFIG_PATH}

[Service]
Type=simple
ExecStartPre={SYNC_GUARD} check
ExecStart=/usr/bin/lsyncd -nodaemon {CONFIG_PATH}
LogsDirectory=lsyncd
Restart=no
"""
