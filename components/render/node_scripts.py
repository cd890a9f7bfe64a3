"""The scripts that prepare each cluster node, in order. Pure: Settings in, bash out.

What arrives on stdin is named in each docstring; the Pulumi components supply it (secrets as Pulumi
secrets, with command logging off).
"""
from __future__ import annotations

import shlex
from pathlib import Path

from components.agents import SERVICE_AGENT_PATH, install_alert_agent_command
from components.render.cib import bmc_password_file, by_path_device
from components.render.corosync import AUTHKEY_PATH, RENDERED_MARK
from components.render.shell import script
from components.render.update import APT_PIN_PATH, APT_SOURCE_PATH, POLICY_RC, block_service_starts
from components.services import active_only_units
from components.settings import Node, Settings

CLUSTER_PACKAGES = ("corosync", "pacemaker", "pacemaker-cli-utils", "fence-agents", "resource-agents",
                    "open-iscsi", "xfsprogs", "e2fsprogs", "lsyncd", "rsync", "ipmitool", "python3",
                    "curl")  # the service agent's HTTP probes
FOREIGN_POLICY_RC = f'echo "{POLICY_RC} exists and is not bluemind-ha\'s: review it, then re-run this step" >&2; exit 1'
CIB_MERGE_SOURCE = (Path(__file__).parent / "cib_merge.py").read_text()


def _words(values) -> str:
    return " ".join(shlex.quote(v) for v in values)


def cluster_packages(s: Settings, node: Node) -> str:
    """Install the cluster stack. corosync and pacemaker never start at boot: a fenced node that reboots
    stays out of the cluster until an admin has looked at it (no fence loops). Debian starts corosync with
    its example configuration when the package is installed: that one is stopped, never a cluster this
    program configured, so a re-run of this step on a live cluster takes nothing down."""
    return script(f"{node.name}: cluster packages", f"""
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends {_words(CLUSTER_PACKAGES)}
systemctl disable --quiet corosync.service pacemaker.service
if ! grep -qsF {shlex.quote(RENDERED_MARK)} /etc/corosync/corosync.conf; then
  systemctl stop pacemaker.service corosync.service
fi
systemctl enable --now iscsid.service
hostnamectl set-hostname {shlex.quote(node.name)}
""")


def bluemind_packages(s: Settings, node: Node) -> str:
    """stdin: the apt source line, then the apt pin of the BlueMind version to install first
    (update.first_install_sources). This step installs BlueMind once, with every service it brings disabled
    at boot (only pacemaker starts them, on the active node); later versions arrive through the update
    chain, in maintenance mode (components/update_chain.py). Once BlueMind is installed, a re-run only keeps
    the cluster-managed units disabled at boot: it installs, pins and stops nothing, since pacemaker may be
    running them on this node."""
    units = _words(u + ".service" for u in active_only_units(s.bluemind.major))
    return script(f"{node.name}: BlueMind packages, disabled at boot", f"""
export DEBIAN_FRONTEND=noninteractive
cluster_units=({units})
if dpkg-query -W -f '${{Status}}' bluemind-full 2>/dev/null | grep -q ' installed$'; then
  for unit in "${{cluster_units[@]}}"; do
    systemctl disable --quiet "$unit" 2>/dev/null || true
  done
  echo "{node.name}: BlueMind $(dpkg-query -W -f '${{Version}}' bluemind-full) is installed; new versions come through the update chain."
  exit 0
fi
IFS= read -r source_line
printf '%s\\n' "$source_line" | install_stdin {APT_SOURCE_PATH} 0644 >/dev/null
install_stdin {APT_PIN_PATH} 0644 >/dev/null
# Package scripts must not start services here: pacemaker owns them, and the data LUNs are not mounted.
{block_service_starts("no service starts while BlueMind is first installed", FOREIGN_POLICY_RC)}
apt-get update -qq
apt-get install -y -qq bluemind-full
for unit in "${{cluster_units[@]}}"; do
  systemctl disable --quiet "$unit" 2>/dev/null || true
  systemctl stop "$unit" 2>/dev/null || true
done
""")


def cluster_agents(s: Settings, node: Node) -> str:
    """stdin: ocf:bluemind-ha:check, the resource agent that checks what BlueMind's bm-checks check; plus
    the mail alert agent when the stack sends alerts."""
    alert = install_alert_agent_command() if s.cluster.alert_recipient else ""
    return script(f"{node.name}: bluemind-ha's pacemaker agents", f"""
install -d -m 0755 {shlex.quote(str(Path(SERVICE_AGENT_PATH).parent))}
install_stdin {SERVICE_AGENT_PATH} 0755
{alert}
""")


def filesystems(s: Settings, node: Node) -> str:
    """Create each LUN's filesystem exactly once, on the primary node, before pacemaker runs; never mkfs a
    device that already holds a filesystem. A fresh filesystem is seeded with what the packages installed
    in that directory (PostgreSQL's cluster, cyrus' databases). Mount points exist on both nodes; nothing
    goes in fstab: only pacemaker mounts the LUNs."""
    primary = node == s.nodes[0]
    lines = [f"for dir in {_words(lun.directory for lun in s.storage.luns)}; do",
             # Only a missing one: an existing mount point may have a filesystem mounted with its own mode.
             '  [ -d "$dir" ] || install -d -m 0755 "$dir"',
             "done"]
    if primary:
        lines.append(f"fstype={s.storage.fstype}")
        lines.append("seed=$(mktemp -d)")
        lines.append("trap 'umount \"$seed\" 2>/dev/null || true; rmdir \"$seed\"' EXIT")
        for lun in s.storage.luns:
            dev, label = by_path_device(s, lun), lun.fs_label
            lines.append(f"ensure_filesystem {shlex.quote(dev)} {shlex.quote(label)} {shlex.quote(lun.directory)}")
    body = "\n".join(lines)
    helper = r'''
# ensure_filesystem DEVICE LABEL DIRECTORY: mkfs only a device with no signature at all (blkid exit 2).
ensure_filesystem() {
  local dev=$1 label=$2 dir=$3 rc=0 found
  found=$(blkid -p -s TYPE -o value "$dev") || rc=$?
  case $rc in
    0) echo "$dev already holds $found: kept"; return 0 ;;
    2) ;;
    *) echo "blkid could not read $dev (exit $rc): refusing to touch it" >&2; exit 1 ;;
  esac
  if grep -q "^$dev " /proc/mounts; then echo "$dev is mounted: refusing mkfs" >&2; exit 1; fi
  if [ "$fstype" = xfs ]; then mkfs.xfs -q -L "$label" "$dev"; else mkfs.ext4 -q -L "$label" "$dev"; fi
  mount "$dev" "$seed"
  cp -a "$dir/." "$seed/"
  umount "$seed"
  echo "$dev: new $fstype filesystem, seeded from $dir"
}
''' if primary else ""
    return script(f"{node.name}: shared filesystems" + (" (created here, once)" if primary else " (mount points)"),
                  helper + body)


def corosync_authkey(s: Settings, node: Node) -> str:
    """stdin: the corosync authkey, base64 (a Pulumi secret). corosync reads its key only at start, and a
    node with a new key cannot join one with the old: while corosync runs, a different key is refused with
    the rotation procedure, and the old key stays in place."""
    return script(f"{node.name}: corosync authkey", f"""
install -d -m 0755 /etc/corosync
new=$(mktemp /etc/corosync/.authkey.XXXXXX)
trap 'rm -f "$new"' EXIT
base64 -d > "$new"
if [ -f {AUTHKEY_PATH} ] && ! cmp -s "$new" {AUTHKEY_PATH} && corosync-cfgtool -s >/dev/null 2>&1; then
  echo "{node.name}: corosync_authkey changed while corosync runs here; the running key is kept." >&2
  echo "Rotate it on both nodes at once, in a maintenance window: crm_attribute --name maintenance-mode --update true;" \\
       "on both nodes systemctl stop pacemaker corosync; pulumi up (installs the new key); on both nodes" \\
       "systemctl start corosync pacemaker; crm_attribute --name maintenance-mode --delete." >&2
  exit 1
fi
install_stdin {AUTHKEY_PATH} 0400 < "$new"
""")


def corosync_conf(s: Settings, node: Node) -> str:
    """stdin: corosync.conf. Tested with `corosync -t` before it replaces the live file, then reloaded."""
    return script(f"{node.name}: corosync.conf", """
install -d -m 0755 /etc/corosync
new=$(mktemp /etc/corosync/corosync.conf.XXXXXX)
trap 'rm -f "$new"' EXIT
cat > "$new"
corosync -t -c "$new" >/dev/null
chmod 0644 "$new"
if [ "$(install_stdin /etc/corosync/corosync.conf 0644 < "$new")" = changed ] && corosync-cfgtool -s >/dev/null 2>&1; then
  corosync-cfgtool -R
fi
""")


def hacluster_password(s: Settings, node: Node) -> str:
    """stdin: the hacluster password (a Pulumi secret). chpasswd reads it from stdin, never argv. Read whole:
    spaces at either end belong to the password."""
    return script(f"{node.name}: hacluster password", """
IFS= read -r password
printf 'hacluster:%s\\n' "$password" | chpasswd
""")


def bmc_password(s: Settings, node: Node) -> str:
    """stdin: the password of the PEER's BMC (a Pulumi secret). A node only ever fences its peer (it never
    runs its own fence device), so it holds only that password, root-only, for fence_ipmilan's
    password_script."""
    peer = s.peer_of(node)
    path = bmc_password_file(peer)
    return script(f"{node.name}: password of {peer.name}'s BMC", f"""
install -d -m 0700 {shlex.quote(str(Path(path).parent))}
install_stdin {shlex.quote(path)} 0600
""")


def cluster_start(s: Settings, node: Node) -> str:
    """Start corosync and pacemaker by hand (they are not enabled at boot) and wait until both nodes are
    members, bounded."""
    return script(f"{node.name}: start corosync and pacemaker", f"""
systemctl start corosync.service pacemaker.service
for _ in $(seq 1 120); do
  if crm_node -l 2>/dev/null | grep -c ' member' | grep -qx 2; then
    crm_node -l
    exit 0
  fi
  sleep 2
done
echo "{node.name}: the cluster did not reach two members in 240 s; see corosync-cfgtool -s and journalctl -u corosync" >&2
exit 1
""")


def cib_push(s: Settings, node: Node) -> str:
    """stdin: the rendered CIB. Splice it into the live CIB (keeping admin state), verify the result, and
    patch only the difference, like pcs does."""
    return script(f"{node.name}: push the CIB", f"""
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/rendered.xml"
cat > "$work/cib_merge.py" <<'PY'
{CIB_MERGE_SOURCE.rstrip()}
PY
cibadmin --query > "$work/live.xml"
python3 "$work/cib_merge.py" "$work/live.xml" "$work/rendered.xml" > "$work/new.xml"
crm_verify --xml-file "$work/new.xml"
rc=0
crm_diff --original "$work/live.xml" --new "$work/new.xml" --no-version > "$work/patch.xml" || rc=$?
case $rc in
  0) echo "CIB unchanged" ;;
  1) cibadmin --patch --xml-file "$work/patch.xml" && echo "CIB patched" ;;
  *) echo "crm_diff failed (exit $rc)" >&2; exit 1 ;;
esac
""")
