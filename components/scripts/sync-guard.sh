#!/usr/bin/env bash
# bluemind-ha-sync: lsyncd's start-up guard, and the admin's way out of its refusal. Installed on each node by
# the sync-config step (rendered by components/render/sync_scripts.py: the header names this node, its peer
# and the synced roots with the rsync filter lsyncd uses).
#
#   bluemind-ha-sync check   lsyncd.service's ExecStartPre: compare this node's synced files with the peer's
#                            (an rsync dry run through the sync key, as lsyncd would push) and fail when the
#                            peer has files that lsyncd's start-up sync would overwrite or delete.
#   bluemind-ha-sync push    send this node's version to the peer now (what it replaces or deletes there goes
#                            to the peer's backup directory): run it on the node whose version is right.
#
# A peer that does not answer (fenced, powered off) cannot be compared: the check says so and lets lsyncd
# start, which pushes once the peer is back (and the peer keeps what it replaces in its backup directory).
# lsyncd is a non-critical member of the group: a refused start never moves BlueMind.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
# No step of pulumi up: its reports say what to run next (lib.sh's general Next would name pulumi up).
# shellcheck disable=SC2034 # read by lib.sh's exit handler
next_said=1
: "${node:?}" "${peer:?}" "${peer_ip:?}" "${rsh:?}" "${stamp_module:?}" "${stamp_name:?}" "${backup_dir:?}"
: "${report:?}" "${lsyncd_resource:?}" "${command_path:?}" "${compare_budget_s:?}"
: "${source_prefix?}" "${modules[@]:?}" "${root_dirs[@]:?}" "${root_rules[@]:?}"

# What rsync's exit status means for the comparison: the peer could not be reached (ssh's 255, a closed or
# refused connection, `timeout`'s 124), or another error (refused options, a full disk...).
unreachable_statuses=" 5 10 12 35 124 255 "

say() { printf 'bluemind-ha-sync: %s\n' "$*" >&2; }

# rsync_to MODULE OPTION...: this node's root of MODULE to the peer's module, with lsyncd's rsync options and
# filter; what the peer replaces or deletes goes to its dated backup directory. Bounded by the budget left.
rsync_to() {
  local module=$1 rule left
  shift
  local filters=()
  while IFS= read -r rule; do
    filters+=("--filter=$rule")
  done <<<"${root_rules[$module]}"
  left=$((deadline - SECONDS))
  [ "$left" -gt 0 ] || return 124
  timeout "$left" rsync --recursive --links --perms --times --owner --group --hard-links --acls --xattrs \
    --delete --backup-dir="$backup_dir/$(date -u +%Y%m%dT%H%M%SZ)-push" -e "$rsh" "${filters[@]}" "$@" \
    "$source_prefix${root_dirs[$module]}/" "root@$peer_ip::$module/"
}

write_stamp() {
  local path="$source_prefix${root_dirs[$stamp_module]}/$stamp_name"
  printf '%s %s: %s\n' "$node" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" | install_stdin "$path" 0644 >/dev/null
}

# The report: on stderr (lsyncd's journal) and in $report, where the admin finds the last verdict.
report() {
  install -d -m 0755 "${report%/*}"
  { date -u +%Y-%m-%dT%H:%M:%SZ; cat; } | tee "$report" >&2
  chmod 0644 "$report"  # the mail alert (run as hacluster) quotes it
}

# listed NAME PATH...: "  NAME: path" lines, at most 20.
listed() {
  local name=$1 path
  shift
  for path in "${@:1:20}"; do printf '  %s %s\n' "$name" "$path"; done
  [ "$#" -le 20 ] || printf '  ... and %d more\n' "$(($# - 20))"
}

# dry_run MODULE OUT [OPTION...]: the dry run's itemized lines in OUT; rsync's errors on stderr.
dry_run() {
  local module=$1 out=$2
  shift 2
  rsync_to "$module" --dry-run --out-format='%i %n' "$@" >"$out"
}

check() {
  local module dir status line name full changed newer_here=() newer_on_peer=() only_on_peer=()
  write_stamp "lsyncd start-up check"
  temp_file /tmp/bluemind-ha-sync.XXXXXX
  full=$REPLY
  temp_file /tmp/bluemind-ha-sync.XXXXXX
  changed=$REPLY
  for module in "${modules[@]}"; do
    dir=${root_dirs[$module]}
    status=0
    dry_run "$module" "$full" || status=$?
    if [ "$status" -eq 0 ] || [ "$status" -eq 24 ]; then
      dry_run "$module" "$changed" --update || status=$?
    fi
    if [ "$status" -ne 0 ] && [ "$status" -ne 24 ]; then
      if [[ $unreachable_statuses == *" $status "* ]]; then
        report <<EOF
$peer ($peer_ip) cannot be compared (rsync exit $status: unreachable, or too slow within ${compare_budget_s}s):
lsyncd STARTS ANYWAY on $node: a failover never waits for the peer. lsyncd pushes to $peer once it answers;
what that replaces or deletes on $peer goes to its backup directory $backup_dir/<date> in each synced root.
EOF
        return 0
      fi
      report <<EOF
REFUSED: lsyncd does not start on $node: the comparison with $peer failed (rsync exit $status for $dir,
its error above), and lsyncd's own sync would fail the same way. Fix the cause, then:
        crm_resource --cleanup --resource $lsyncd_resource
EOF
      return 1
    fi
    if [ "$module" = "$stamp_module" ] && grep -qxF "<f+++++++++ $stamp_name" "$full"; then
      report <<EOF
first sync to $peer: it never received one ($stamp_name is not there), so nothing on it is newer
configuration: lsyncd starts on $node and pushes this node's version.
EOF
      return 0
    fi
    # Each line: "<Xcstpoguax NAME" (what lsyncd would send to the peer: a new one is "<f+++++++++"), or
    # "*deleting   NAME" (what it would delete there). The --update run leaves out what is newer on the peer. A directory (X = d) only
    # carries times and modes.
    local -A pushed=()
    while IFS= read -r line; do pushed[${line:12}]=1; done <"$changed"
    while IFS= read -r line; do
      name=${line:12}
      if [[ $line == "*deleting "* ]]; then
        only_on_peer+=("$dir/$name")
      elif [ "${line:1:1}" != d ] && [ "$name" != "$stamp_name" ]; then
        if [ -n "${pushed[$name]:-}" ]; then newer_here+=("$dir/$name"); else newer_on_peer+=("$dir/$name"); fi
      fi
    done <"$full"
    unset pushed
  done
  if [ "${#newer_on_peer[@]}" -eq 0 ] && [ "${#only_on_peer[@]}" -eq 0 ]; then
    report <<EOF
$peer has nothing newer than $node: lsyncd starts on $node (${#newer_here[@]} file(s) newer here to push).
EOF
    return 0
  fi
  {
    printf 'REFUSED: lsyncd does not start on %s: %s has configuration that its start-up sync would overwrite or delete:\n' \
      "$node" "$peer"
    listed "newer on $peer:" "${newer_on_peer[@]}"
    listed "only on $peer (added there, or deleted here):" "${only_on_peer[@]}"
    if [ "${#newer_here[@]}" -gt 0 ]; then
      printf 'Both nodes changed: also newer here on %s:\n' "$node"
      listed "newer on $node:" "${newer_here[@]}"
    fi
    cat <<EOF
BlueMind runs on $node; only the sync waits. Decide which node's version is right, then:
  - $peer's (usually: the sync from $peer had been failing): on $peer, run
        $command_path push
    and restart the BlueMind services that read those files on $node (or switch over to $peer);
  - $node's: on $node, run
        $command_path push
Either push keeps what it replaces or deletes on the receiving node under $backup_dir/<date> in each
synced root. Then let lsyncd start again:
        crm_resource --cleanup --resource $lsyncd_resource
EOF
  } | report
  return 1
}

push() {
  local module status=0
  write_stamp "pushed by $command_path push"
  for module in "${modules[@]}"; do
    say "pushing ${root_dirs[$module]} to $peer ($peer_ip)"
    rsync_to "$module" --itemize-changes || status=$?
  done
  [ "$status" -eq 0 ] || { say "push to $peer failed (rsync exit $status)"; return "$status"; }
  say "pushed: $peer now has $node's version; what it replaced is under $backup_dir/<date> in each synced root"
}

deadline=$((SECONDS + compare_budget_s))
case "${1:-}" in
  check) check ;;
  push) deadline=$((SECONDS + 3600)); push ;;
  *) say "usage: $command_path check|push"; exit 2 ;;
esac
