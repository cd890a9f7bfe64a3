# shellcheck shell=bash
# bluemind-ha's shell library: every host step (components/scripts/*.sh) sources it. A host has no copy of
# these files: components/render/shell.py inlines this library into each rendered step.
set -euo pipefail
umask 077

# The cleanup stack: one EXIT trap runs every pushed command, the last pushed first, whatever ends the
# script. A step never sets an EXIT trap of its own: it would replace this one and lose the cleanups.
cleanup_stack=()
# cleanup_push COMMAND [ARG...]: run the command (its arguments as they are now) when the script exits.
# Several commands in one: a function. Not from a $(...) subshell: its exit would not run them.
cleanup_push() { cleanup_stack+=("$(printf '%q ' "$@")"); }
# A step that fails always says what to run next: `fail` does, and any other failure (a command that
# failed under set -e) gets the general answer when the script exits.
run_cleanups() {
  local rc=$? i
  for ((i = ${#cleanup_stack[@]} - 1; i >= 0; i--)); do
    eval "${cleanup_stack[i]}" || true
  done
  if [ "$rc" -ne 0 ] && [ -z "${next_said-}" ]; then
    echo "Next: the command above failed (exit $rc); fix its cause, then run the same pulumi command again" \
      "(pulumi up, or pulumi destroy for a delete): it re-runs this step, which changes only what is not in" \
      "place yet." >&2
  fi
}
trap run_cleanups EXIT

# fail WHAT NEXT...: stop the step. WHAT is what failed, in one argument (details, such as a tool's own
# output, go to stderr before); NEXT, the other arguments joined like echo's, is what the admin runs next,
# with the exact commands, up to the pulumi command that goes on (tests/test_failure_messages.py checks
# every call). refuse: the same for what the step will not do (nothing was changed).
fail() {
  local what=$1
  shift
  echo "FAILED: $what" >&2
  echo "Next: $*" >&2
  next_said=1
  exit 1
}
refuse() {
  local what=$1
  shift
  echo "REFUSED: $what" >&2
  echo "Next: $*" >&2
  next_said=1
  exit 1
}

# temp_file TEMPLATE: a new file (mktemp TEMPLATE: put it next to where it goes, so a mv is atomic), removed
# when the script exits; its name in REPLY (a $(...) subshell could not push the removal).
temp_file() {
  REPLY=$(mktemp "$1")
  cleanup_push rm -f "$REPLY"
}

# temp_dir: a new directory, removed with its content when the script exits; its name in REPLY.
temp_dir() {
  REPLY=$(mktemp -d)
  cleanup_push rm -rf "$REPLY"
}

# receive_stdin TEMPLATE: the step's stdin saved whole in a temp_file; its name in REPLY. Like every helper
# that sets REPLY or pushes a cleanup: never on the right of a pipe (a subshell).
receive_stdin() {
  temp_file "$1"
  cat > "$REPLY"
}

# install_stdin DEST MODE: write stdin to DEST (MODE) only when it differs; prints "changed" or "unchanged".
# A file with the right content but a looser mode (a password file made 0644 by hand) is put back to MODE.
# Self-contained (it may run in a command substitution, whose EXIT trap is not ours): no cleanup pushed.
install_stdin() {
  local dest=$1 mode=$2 tmp
  tmp=$(mktemp "${dest}.XXXXXX")
  cat > "$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    if [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then
      echo unchanged
    else
      chmod "$mode" "$dest"
      echo changed
    fi
  else
    mv -f "$tmp" "$dest"
    echo changed
  fi
}

# foreign_policy_rc PATH: whether PATH (policy-rc.d) exists and is not bluemind-ha's: never replaced.
foreign_policy_rc() {
  [ -e "$1" ] && ! grep -q bluemind-ha "$1"
}

# block_service_starts PATH WHY: until the script exits, package scripts may not start services (a
# policy-rc.d at PATH answering 101). Check foreign_policy_rc first.
block_service_starts() {
  printf '#!/bin/sh\n# bluemind-ha: %s\nexit 101\n' "$2" | install_stdin "$1" 0755 >/dev/null
  cleanup_push rm -f "$1"
}

# cib_has XPATH: whether this node's cluster configuration holds XPATH: the live CIB when pacemaker answers,
# else the copy pacemaker keeps on disk (a stopped cluster starts with it again); no CIB at all: no.
cib_has() {
  local disk=/var/lib/pacemaker/cib/cib.xml
  if cibadmin --query --scope nodes >/dev/null 2>&1; then
    cibadmin --query --xpath "$1" >/dev/null 2>&1
  elif [ -f "$disk" ]; then
    CIB_file=$disk cibadmin --query --xpath "$1" >/dev/null 2>&1
  else
    return 1
  fi
}
