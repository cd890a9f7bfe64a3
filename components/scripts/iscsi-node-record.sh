# shellcheck shell=bash disable=SC2034  # record is read by iscsi-login.sh
# Part of iscsi-login.sh (and run on its own by a test): the node record iscsid logs in with made to carry
# every `node.*` setting of the installed iscsid.conf; sets `record` to "changed" or "unchanged".
# The node record, not iscsid.conf, is what iscsid logs in with (at boot, after a lost connection), and a
# record keeps the settings it was created with. So every run compares it with iscsid.conf and updates what
# differs in place, without logging out: a rotated CHAP secret reaches the record before any next login.
: "${node_record[@]-}" "${iscsid_conf:?}"
if ! iscsiadm "${node_record[@]}" >/dev/null 2>&1; then
  iscsiadm "${node_record[@]}" -o new >/dev/null
fi
declare -A recorded=()
# -S shows the secret: nothing read here is printed.
record_text=$(iscsiadm "${node_record[@]}" -S)
while IFS= read -r line; do recorded[${line%% = *}]=${line#* = }; done <<<"$record_text"
update_args=() changed_settings=()
while IFS= read -r line; do
  case $line in node.*' = '*) ;; *) continue ;; esac
  setting=${line%% = *} value=${line#* = }
  if [ "${recorded[$setting]-}" != "$value" ]; then
    update_args+=(-n "$setting" -v "$value") changed_settings+=("$setting")
  fi
done < "$iscsid_conf"
record=unchanged
if [ ${#update_args[@]} -gt 0 ]; then
  # iscsiadm takes values on its command line only: a changed CHAP secret is in this node's process list for
  # the moment the update takes (root runs it; the secret is also in iscsid.conf, 0600).
  iscsiadm "${node_record[@]}" -o update "${update_args[@]}"
  record=changed
  echo "node record updated from iscsid.conf: ${changed_settings[*]}"
fi
