#!/usr/bin/env bash
# The iSCSI target. stdin: targets.conf (holds the CHAP secret). Makes tgtd's live target what the file says,
# on every run: a missing target is created; the CHAP secret is set; a target that differs (LUNs, their
# volumes and sizes, ACL, account) is re-created while no initiator is logged in, and otherwise the step
# fails with the maintenance-window procedure, again on every run until the target matches.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${target:?}" "${portal:?}" "${conf:?}" "${rotation_account:?}" "${group:?}" "${storage_host:?}"
# grow_filesystem: LUN number -> the command that grows its filesystem, run on the node holding the group
# once it sees a grown LUN.
: "${grow_filesystem[@]-}"

export LC_ALL=C
# Failures inside $(...) stop the script too.
shopt -s inherit_errexit

install -d -m 0755 /etc/tgt/conf.d
install_stdin "$conf" 0600 >/dev/null
# Nothing below asks whether the file changed: an earlier run may have saved it without applying it. The live
# target is compared with the file on every run.

# wanted: what the file asks for, one line per LUN ("lun NUMBER VOLUME SERIAL"), ACL entry and CHAP account.
wanted=$(awk '$1 == "<backing-store" { volume = substr($2, 1, length($2) - 1) }
              $1 == "lun" { lun = $2 }
              $1 == "scsi_sn" { print "lun", lun, volume, $2 }
              $1 == "initiator-address" || $1 == "initiator-name" { print "acl", $2 }
              $1 == "incominguser" { print "account", $2 }
              $1 == "outgoinguser" { print "outgoing", $2 }' "$conf" | sort)

# inspect: read the live target. Sets tid (empty: tgtd does not serve it), served (what it serves, in the
# lines of `wanted`), sessions (initiators logged in), differences (what is missing or unwanted) and grown
# (LUNs whose volume is bigger than what tgt serves: tgt reads a volume's size once, when it adds the LUN).
inspect() {
  local listing sizes lun volume mb bytes
  listing=$(tgtadm --lld iscsi --op show --mode target | awk -v t="$target" '/^Target [0-9]+: / { on = ($3 == t) } on')
  tid=$(awk 'NR == 1 { sub(":", "", $2); print $2 }' <<<"$listing")
  served=$(awk '/^    [A-Z]/ { section = $1 }
                section == "LUN" && $1 == "LUN:" { lun = $2 }
                section == "LUN" && $1 == "SCSI" && $2 == "SN:" { serial = $3 }
                section == "LUN" && /^ +Backing store path: / && lun != 0 { print "lun", lun, $4, serial }
                section == "Account" && /^        [^ ]/ && NF == 1 { print "account", $1 }
                section == "Account" && /^        [^ ]/ && $2 == "(outgoing)" { print "outgoing", $1 }
                section == "ACL" && /^        [^ ]/ { print "acl", $1 }' <<<"$listing" | sort)
  # tgt counts a target with a connection as in use (tgt-admin then refuses to re-create it).
  sessions=$(awk '$1 == "Initiator:" { initiator = $2 } $1 == "IP" { print "  " initiator, "from", $3 }' <<<"$listing" | sort -u)
  differences=$(comm -23 <(echo "$wanted") <(echo "$served") | sed '/^$/d; s/^/  not served: /'
                comm -13 <(echo "$wanted") <(echo "$served") | sed '/^$/d; s/^/  served, not in the file: /')
  # tgt shows sizes in MB, rounded; a logical volume grows by 4 MiB at least.
  sizes=$(awk '/^    [A-Z]/ { section = $1 }
               section == "LUN" && $1 == "LUN:" { lun = $2 }
               section == "LUN" && $1 == "Size:" { mb = $2 }
               section == "LUN" && /^ +Backing store path: / { print lun, $4, mb }' <<<"$listing")
  grown=()
  while read -r _ lun volume _; do
    mb=$(awk -v l="$lun" -v v="$volume" '$1 == l && $2 == v { print $3 }' <<<"$sizes")
    [ -n "$mb" ] || continue  # not served from this volume: listed in differences
    bytes=$(blockdev --getsize64 "$volume")
    if [ $((bytes / 1000000)) -gt $((mb + 2)) ]; then
      grown+=("$lun")
      differences+=$'\n'"  LUN $lun served at $mb MB, its volume $volume now has $((bytes / 1000000)) MB"
    fi
  done < <(grep '^lun ' <<<"$wanted")
  differences=$(sed '/^$/d' <<<"$differences")
}

# tgt-admin prints a failed tgtadm command line, which holds the CHAP secret when it creates the account.
tgt_admin() {
  tgt-admin "$@" 2>&1 | sed -E 's/(--password[= ])[^ ]*/\1[secret]/g'
}

account_exists() {
  tgtadm --lld iscsi --mode account --op show | awk -v u="$1" 'NR > 1 && $1 == u { found = 1 } END { exit !found }'
}

# set_chap_secret: give the target's CHAP accounts the file's secrets. tgtd never shows a secret, and tgt-admin
# creates an account only when it does not exist, so a rotated secret would never reach tgtd: every run
# re-creates the account. CHAP is checked at login only, so live sessions go on. A target with no account
# admits its initiators WITHOUT CHAP, so a throw-away account with a random secret stays bound meanwhile:
# for those milliseconds nobody logs in at all. tgtadm takes the secret on its command line, in this host's
# process list for the moment the call takes: the storage host serves tgt only and only root logs in there,
# and tgt-admin passes it the same way at every boot. Nothing here prints it, so it never reaches Pulumi.
set_chap_secret() {
  local user password
  read -r _ user password < <(awk '$1 == "incominguser"' "$conf")
  if account_exists "$rotation_account"; then
    tgtadm --lld iscsi --mode account --op delete --user "$rotation_account"
  fi
  tgtadm --lld iscsi --mode account --op new --user "$rotation_account" \
    --password "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  tgtadm --lld iscsi --mode account --op bind --tid "$tid" --user "$rotation_account"
  if account_exists "$user"; then
    tgtadm --lld iscsi --mode account --op delete --user "$user"
  fi
  tgtadm --lld iscsi --mode account --op new --user "$user" --password "$password"
  tgtadm --lld iscsi --mode account --op bind --tid "$tid" --user "$user"
  tgtadm --lld iscsi --mode account --op delete --user "$rotation_account"
  echo "CHAP account $user: secret set"
  # The mutual account (the target's answer to the nodes' challenge) needs no stand-in: while it is missing, a
  # node asking the target to prove itself gets no answer and its login fails (closed, never open).
  read -r _ user password < <(awk '$1 == "outgoinguser"' "$conf")
  if account_exists "$user"; then
    tgtadm --lld iscsi --mode account --op delete --user "$user"
  fi
  tgtadm --lld iscsi --mode account --op new --user "$user" --password "$password"
  tgtadm --lld iscsi --mode account --op bind --tid "$tid" --user "$user" --outgoing
  echo "mutual CHAP account $user: secret set"
}

inspect
if [ -z "$tid" ]; then
  tgt_admin --execute
  inspect
  [ -n "$tid" ] || fail "tgt-admin --execute did not create $target" \
    "on this host: tgt-admin --dump and journalctl -u tgt -b; fix what they show, then run pulumi up again"
fi
set_chap_secret
# The file's digest settings on the live target, on every run: tgt-admin applies them only when it creates a
# target (one made before keeps None, and the nodes, which require CRC32C headers, could not log in again). They
# count from the next login on; live sessions keep theirs.
while read -r name value; do
  tgtadm --lld iscsi --mode target --op update --tid "$tid" --name "$name" --value "$value" </dev/null
done < <(awk '$1 == "HeaderDigest" || $1 == "DataDigest" { print $1, $2 }' "$conf")
inspect
resized=()
if [ -n "$differences" ] && [ -z "$sessions" ]; then
  resized=("${grown[@]}")  # the update re-creates them at their volumes' sizes
  tgt_admin --update "$target"
  inspect
fi
if [ -n "$differences" ]; then
  {
    echo "Target $target is not what $conf says:"
    echo "$differences"
    if [ -n "$sessions" ]; then
      echo "tgt changes a target by re-creating it, which it refuses while initiators are logged in:"
      echo "$sessions"
    fi
    echo "Apply it in a maintenance window (BlueMind is stopped meanwhile; the CHAP secret is already applied):"
    echo "  1. on a node: crm_resource --resource $group --meta --set-parameter target-role --parameter-value Stopped"
    echo "     and wait until crm_mon -1 shows every member of the group stopped"
    echo "  2. on both nodes: iscsiadm -m node -T $target -p $portal --logout"
    echo "  3. on $storage_host: tgt-admin --update $target"
    echo "  4. on both nodes: iscsiadm -m node -T $target -p $portal --login"
    echo "  5. on a node: crm_resource --resource $group --meta --delete-parameter target-role"
    if ((${#grown[@]})); then
      echo "  6. once the group runs again, on its node, grow the filesystems of the grown LUNs:"
      for lun in "${grown[@]}"; do echo "     ${grow_filesystem[$lun]}"; done
    fi
  } >&2
  fail "target $target differs from $conf (above)" "the steps above, then pulumi up: this step checks the target again"
fi
for lun in "${resized[@]}"; do
  echo "LUN $lun is now served at its volume's size: on the node holding the group, ${grow_filesystem[$lun]}"
done
echo "target $target (tid $tid): $(grep -c '^lun ' <<<"$served") LUNs, ACL and CHAP account as in $conf"
