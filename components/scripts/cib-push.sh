#!/usr/bin/env bash
# Push the CIB. stdin: the rendered CIB. Splice it into the live CIB (keeping admin state, with
# components/render/cib_merge.py and the cib_nvsets.py it imports, carried as cib_merge_py and cib_nvsets_py),
# verify the result, and patch only the difference, like pcs does. Then wait, bounded, until the cluster has
# settled and the group runs (the first push starts it): a push after which BlueMind runs nowhere fails with
# pacemaker's own status, unless an admin stopped the group or put it (or the cluster) in maintenance.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${cib_merge_py:?}" "${cib_nvsets_py:?}" "${group:?}" "${settle_timeout_s:?}"

temp_dir
work=$REPLY
cat > "$work/rendered.xml"
printf '%s' "$cib_merge_py" > "$work/cib_merge.py"
printf '%s' "$cib_nvsets_py" > "$work/cib_nvsets.py"
cibadmin --query > "$work/live.xml"
python3 "$work/cib_merge.py" "$work/live.xml" "$work/rendered.xml" > "$work/new.xml"
crm_verify --xml-file "$work/new.xml"
rc=0
crm_diff --original "$work/live.xml" --new "$work/new.xml" --no-version > "$work/patch.xml" || rc=$?
case $rc in
  0) echo "CIB unchanged" ;;
  1) cibadmin --patch --xml-file "$work/patch.xml" && echo "CIB patched" ;;
  *) fail "crm_diff failed (exit $rc): the CIB was not changed" \
       "look at crm_verify -L -V and crm_mon -1 on this node, then run pulumi up again" ;;
esac

crm_resource --wait --timeout="${settle_timeout_s}s" >/dev/null 2>&1 || echo "the cluster has not settled within ${settle_timeout_s} s" >&2
where=$(crm_resource --resource "$group" --locate --quiet 2>/dev/null | sort -u | tr '\n' ' ')
role=$(crm_resource --resource "$group" --meta --get-parameter target-role --quiet 2>/dev/null || true)
held=$(crm_resource --resource "$group" --meta --get-parameter maintenance --quiet 2>/dev/null || true)
frozen=$(crm_attribute --type crm_config --name maintenance-mode --query --quiet 2>/dev/null || true)
if [ -n "$where" ]; then
  echo "the group $group runs on ${where% }"
elif [ "$role" = Stopped ] || [ "$held" = true ] || [ "$frozen" = true ]; then
  echo "the group $group runs nowhere, as an admin set it (target-role=${role:-Started}, maintenance=${held:-false}, maintenance-mode=${frozen:-false})"
else
  echo "Pacemaker's status:" >&2
  crm_mon -1 -r -f >&2 || true
  fail "after the CIB push the group $group runs on no node (pacemaker's status above)" \
    "fix what it shows (a failed start, a fence that did not complete, a LUN that is not there), then" \
    "crm_resource --cleanup --resource $group, and run pulumi up again"
fi
