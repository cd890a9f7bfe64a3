"""A stand-in apt for the sandbox: apt-get, apt-mark and dpkg-query over a package database in a directory,
with versions installed and versions the repository offers. It upgrades like apt does (held packages are
kept back, `install` of a held package that would change is refused, --no-upgrade installs only what is
missing, --only-upgrade upgrades only what is installed), and an upgraded corosync or pacemaker "restarts"
the cluster stack through systemctl, as Debian's postinst does (unless policy-rc.d forbids it). Every call
and every change is logged to $CALLS: "upgraded corosync 3.1.7-1 -> 3.1.8-1", "installed lsyncd ...".
"""
from __future__ import annotations

from pathlib import Path

# $APT_DB/installed/<pkg> and $APT_DB/available/<pkg> hold a version; $APT_DB/held/<pkg> marks a hold.
APT_GET = r'''
db=$APT_DB
echo "apt-get $*" >> "$CALLS"
no_upgrade=no only_upgrade=no action="" names=()
skip=no
for arg in "$@"; do
  if [ "$skip" = yes ]; then skip=no; continue; fi
  case "$arg" in
    -o) skip=yes ;;
    --no-upgrade) no_upgrade=yes ;;
    --only-upgrade) only_upgrade=yes ;;
    -*) ;;
    update|install|upgrade|dist-upgrade) [ -n "$action" ] || action=$arg ;;
    *) names+=("$arg") ;;
  esac
done
postinst() {
  case "$1" in
    corosync|pacemaker)
      if [ -x /usr/sbin/policy-rc.d ] && { /usr/sbin/policy-rc.d "$1" restart; [ $? -eq 101 ]; }; then return; fi
      systemctl restart corosync.service pacemaker.service ;;
  esac
}
upgrade() {  # upgrade PKG when the repository offers another version
  local old new
  old=$(cat "$db/installed/$1") new=$(cat "$db/available/$1" 2>/dev/null || echo "$old")
  [ "$old" != "$new" ] || return 0
  echo "$new" > "$db/installed/$1"
  echo "upgraded $1 $old -> $new" >> "$CALLS"
  postinst "$1"
}
case "$action" in
  update|"") exit 0 ;;
  install)
    for name in "${names[@]}"; do
      if [ ! -e "$db/installed/$name" ]; then
        [ "$only_upgrade" = no ] || continue
        [ -e "$db/available/$name" ] || { echo "E: Unable to locate package $name" >&2; exit 100; }
        cp "$db/available/$name" "$db/installed/$name"
        echo "installed $name $(cat "$db/installed/$name")" >> "$CALLS"
      elif [ "$no_upgrade" = no ]; then
        if [ -e "$db/held/$name" ] && ! cmp -s "$db/installed/$name" "$db/available/$name"; then
          echo "E: Held packages were changed and -y was used without --allow-change-held-packages." >&2
          exit 100
        fi
        upgrade "$name"
      fi
    done ;;
  upgrade|dist-upgrade)
    for path in "$db"/installed/*; do
      name=${path##*/}
      [ -e "$db/held/$name" ] || upgrade "$name"
    done ;;
esac
'''

APT_MARK = r'''
db=$APT_DB
echo "apt-mark $*" >> "$CALLS"
action=$1; shift
case "$action" in
  hold) for name in "$@"; do touch "$db/held/$name"; done ;;
  unhold) for name in "$@"; do rm -f "$db/held/$name"; done ;;
  showhold) ls "$db/held" ;;
esac
'''

DPKG_QUERY = r'''
db=$APT_DB
echo "dpkg-query $*" >> "$CALLS"
format="" patterns=()
while [ $# -gt 0 ]; do
  case "$1" in
    -W) ;;
    -f) format=$2; shift ;;
    *) patterns+=("$1") ;;
  esac
  shift
done
found=1
for pattern in "${patterns[@]}"; do
  for path in "$db"/installed/$pattern; do
    [ -e "$path" ] || continue
    found=0
    name=${path##*/} version=$(cat "$path")
    out=${format//'${db:Status-Abbrev}'/ii }
    out=${out//'${binary:Package}'/$name}
    out=${out//'${Package}'/$name}
    out=${out//'${Version}'/$version}
    out=${out//'${Status}'/install ok installed}
    printf '%b' "$out"
  done
done
exit $found
'''

STAND_INS = {"apt-get": APT_GET, "apt-mark": APT_MARK, "dpkg-query": DPKG_QUERY}


def apt_database(root: Path, installed: dict[str, str], available: dict[str, str]) -> Path:
    """A package database: `installed` and `available` map package -> version."""
    for kind, versions in (("installed", installed), ("available", available), ("held", {})):
        (root / kind).mkdir(parents=True, exist_ok=True)
        for name, version in versions.items():
            (root / kind / name).write_text(version + "\n")
    return root
