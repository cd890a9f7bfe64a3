"""The node side of the shared storage: open-iscsi's identity and settings, and the script that logs a node in.

Everything the initiator presents (IQN, CHAP user, portal, target, LUN numbers) comes from the same
`Settings` that render the target's ACLs (tgt.py) and the CIB's by-path devices (cib.py), so the two
ends cannot disagree.
"""
from __future__ import annotations

from components.render.cib import by_path_device
from components.render.shell import script
from components.settings import Node, Settings

ISCSID_CONF = "/etc/iscsi/iscsid.conf"
INITIATORNAME = "/etc/iscsi/initiatorname.iscsi"
# Bounded waits of the login script (seconds).
LOGIN_TIMEOUT_S = 120
DEVICE_WAIT_S = 60


def initiatorname_iscsi(node: Node) -> str:
    return f"InitiatorName={node.iqn}\n"


def iscsid_conf(s: Settings, chap_password: str) -> str:
    """A complete /etc/iscsi/iscsid.conf. It holds the CHAP secret: installed 0600, sent only on stdin."""
    if "\n" in chap_password:
        raise ValueError("the CHAP password cannot contain a newline")
    return "\n".join([
        f"# iscsid.conf of the bluemind-ha stack '{s.stack}', rendered by bluemind-ha. `pulumi up` owns it.",
        "iscsid.startup = /bin/systemctl start iscsid.socket",
        "",
        "# Log in at boot: both nodes keep the LUNs visible; pacemaker alone mounts them, on one node.",
        "node.startup = automatic",
        "node.leading_login = No",
        "",
        "# The target admits only our two IQNs, and only with this secret (one-way CHAP).",
        "node.session.auth.authmethod = CHAP",
        f"node.session.auth.username = {s.storage.chap_username}",
        f"node.session.auth.password = {chap_password}",
        "",
        "# A dead path is noticed by NOP-Outs within 5 + 5 s; I/O is then queued for replacement_timeout and",
        "# failed after it. 15 s rides out a target restart or a switch failover, yet the whole 25 s stays",
        "# below the Filesystem monitor's 40 s timeout: a lost LUN surfaces as a clean monitor error that",
        "# pacemaker recovers from, instead of the default 120 s of processes hung in D state, a monitor",
        "# timeout, an unkillable stop and a fence. (With dm-multipath in front this would be 5 s.)",
        "node.session.timeo.replacement_timeout = 15",
        "node.conn[0].timeo.noop_out_interval = 5",
        "node.conn[0].timeo.noop_out_timeout = 5",
        "node.conn[0].timeo.login_timeout = 15",
        "node.conn[0].timeo.logout_timeout = 15",
        "node.session.initial_login_retry_max = 8",
        "node.session.err_timeo.abort_timeout = 15",
        "node.session.err_timeo.lu_reset_timeout = 30",
        "node.session.err_timeo.tgt_reset_timeout = 30",
        "",
        "node.session.cmds_max = 128",
        "node.session.queue_depth = 32",
        "node.session.iscsi.InitialR2T = No",
        "node.session.iscsi.ImmediateData = Yes",
        "node.session.iscsi.FirstBurstLength = 262144",
        "node.session.iscsi.MaxBurstLength = 16776192",
        "node.conn[0].iscsi.MaxRecvDataSegmentLength = 262144",
        "node.conn[0].iscsi.HeaderDigest = None",
        "node.session.iscsi.FastAbort = Yes",
        "",
    ])


def node_record(s: Settings) -> str:
    """bash: the node record iscsid logs in with made to carry every `node.*` setting of the installed
    iscsid.conf; sets `record` to "changed" or "unchanged". Part of login_script()."""
    st = s.storage
    return f"""
# The node record, not iscsid.conf, is what iscsid logs in with (at boot, after a lost connection), and a
# record keeps the settings it was created with. So every run compares it with iscsid.conf and updates what
# differs in place, without logging out: a rotated CHAP secret reaches the record before any next login.
node_record=(-m node -T {st.target_iqn} -p {st.portal})
if ! iscsiadm "${{node_record[@]}}" >/dev/null 2>&1; then
  iscsiadm "${{node_record[@]}}" -o new >/dev/null
fi
declare -A recorded=()
# -S shows the secret: nothing read here is printed.
record_text=$(iscsiadm "${{node_record[@]}}" -S)
while IFS= read -r line; do recorded[${{line%% = *}}]=${{line#* = }}; done <<<"$record_text"
update_args=() changed_settings=()
while IFS= read -r line; do
  case $line in node.*' = '*) ;; *) continue ;; esac
  setting=${{line%% = *}} value=${{line#* = }}
  if [ "${{recorded[$setting]-}}" != "$value" ]; then
    update_args+=(-n "$setting" -v "$value") changed_settings+=("$setting")
  fi
done < {ISCSID_CONF}
record=unchanged
if [ ${{#update_args[@]}} -gt 0 ]; then
  # iscsiadm takes values on its command line only: a changed CHAP secret is in this node's process list for
  # the moment the update takes (root runs it; the secret is also in iscsid.conf, 0600).
  iscsiadm "${{node_record[@]}}" -o update "${{update_args[@]}}"
  record=changed
  echo "node record updated from iscsid.conf: ${{changed_settings[*]}}"
fi
"""


def login_script(s: Settings, node: Node) -> str:
    """bash, run on `node` with iscsid_conf() on stdin: install the initiator's files, bring the node record in
    line with them, log in, wait for the LUNs."""
    st = s.storage
    devices = " ".join(by_path_device(s, lun) for lun in st.luns)
    return script(f"{node.name}: iSCSI login to {st.target_iqn} at {st.portal}", f"""
portal={st.portal}
target={st.target_iqn}
devices=({devices})

install -d -m 0755 /etc/iscsi
received=$(mktemp /etc/iscsi/.iscsid.conf.XXXXXX)
trap 'rm -f "$received"' EXIT
cat > "$received"
if ! grep -q '^node.session.auth.password = ' "$received"; then
  echo "stdin must be the rendered iscsid.conf (with the CHAP secret); got something else" >&2
  exit 1
fi
conf=$(install_stdin {ISCSID_CONF} 0600 < "$received")
name=$(printf 'InitiatorName=%s\\n' {node.iqn} | install_stdin {INITIATORNAME} 0644)
{node_record(s).strip()}
if [ "$conf" = changed ] || [ "$name" = changed ] || [ "$record" = changed ]; then
  # iscsid reads both files when it starts, and takes each live session's settings from its node record
  # then: a restart after the record update makes a reconnect (target restart, lost link) use the new
  # secret too. Running sessions keep their login.
  systemctl restart iscsid
  echo "iscsid restarted: iscsid.conf $conf, initiatorname.iscsi $name, node record $record"
fi

# `iscsiadm -m session` lines: "tcp: [1] 192.168.150.20:3260,1 iqn....:bluemind-data (non-flash)".
logged_in() {{
  iscsiadm -m session 2>/dev/null |
    awk -v p="$portal" -v t="$target" '{{ split($3, a, ","); if (a[1] == p && $4 == t) found = 1 }} END {{ exit !found }}'
}}
if ! logged_in; then
  timeout {LOGIN_TIMEOUT_S} iscsiadm "${{node_record[@]}}" --login
fi

# Every LUN under the name the CIB's Filesystem resources use (udev creates them shortly after login).
deadline=$((SECONDS + {DEVICE_WAIT_S}))
while :; do
  missing=()
  for device in "${{devices[@]}}"; do
    [ -b "$device" ] || missing+=("$device")
  done
  [ ${{#missing[@]}} -eq 0 ] && break
  if [ $SECONDS -ge $deadline ]; then
    echo "LUNs not visible on {node.name} after {DEVICE_WAIT_S} s (check the target's ACL and CHAP):" >&2
    printf '  %s\\n' "${{missing[@]}}" >&2
    exit 1
  fi
  udevadm settle --timeout=5 || true
  sleep 1
done
echo "{node.name}: logged in to $target at $portal, ${{#devices[@]}} LUNs present"
""")
