#!/usr/bin/env bash
# Push the CIB. stdin: the rendered CIB. Splice it into the live CIB (keeping admin state, with
# components/render/cib_merge.py, carried as cib_merge_py), verify the result, and patch only the
# difference, like pcs does.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${cib_merge_py:?}"

temp_dir
work=$REPLY
cat > "$work/rendered.xml"
printf '%s' "$cib_merge_py" > "$work/cib_merge.py"
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
