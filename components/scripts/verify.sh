#!/usr/bin/env bash
# Is the cluster what pulumi up declared? Run on each node as root (`pulumi stack output verify | ssh
# root@<node> bash`): both nodes members, STONITH on and the peer's fence device answering a status call, the
# group on exactly one node and managed (neither it nor the cluster left in maintenance), each LUN mounted
# once (here when the group runs here, else not at all) and found by its label (the device mounted is the one its
# label leads to; on the passive node the label leads to a disk, for a failover), BlueMind's URL answering on the VIP, the cluster
# stack held (no upgrade restarts it) and bluemind.target masked (bmctl cannot restart what pacemaker
# manages). One PASS/FAIL line each; exit 1 if anything failed.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${group:?}" "${url:?}" "${vip:?}" "${stonith:?}" "${timeout_s:?}"
: "${nodes[@]:?}" "${directories[@]:?}" "${labels[@]:?}"
: "${peer_fence_parameters[@]-}" "${held[@]:?}" "${bluemind_target:?}"

failures=0
check() {
  local what=$1
  shift
  if "$@"; then echo "PASS  $what"; else echo "FAIL  $what"; failures=$((failures + 1)); fi
}
member() { crm_node --list 2>/dev/null | awk -v n="$1" '$2 == n && $3 == "member" { found = 1 } END { exit !found }'; }
stonith_on() { [ "$(crm_attribute --type crm_config --name stonith-enabled --query --quiet 2>/dev/null)" = true ]; }
peer_fence_answers() {
  local params=${peer_fence_parameters[$1]}
  timeout "$timeout_s" fence_ipmilan <<<"${params%$'\n'}" >/dev/null 2>&1 || [ $? = 2 ]  # 2: answered, powered off
}
group_managed() {
  [ "$(crm_resource --resource "$group" --meta --get-parameter maintenance --quiet 2>/dev/null || true)" != true ]
}
cluster_managed() {
  [ "$(crm_attribute --type crm_config --name maintenance-mode --query --quiet 2>/dev/null || true)" != true ]
}
stack_held() { [ "$(apt-mark showhold 2>/dev/null | grep -cxF -f <(printf '%s\n' "${held[@]}"))" = "${#held[@]}" ]; }
masked() { [ "$(systemctl is-enabled "$1" 2>/dev/null || true)" = masked ]; }
one_node() { [ "$(grep -c . <<<"$where")" = 1 ]; }
mounted_times() { [ "$(findmnt -n -o TARGET --mountpoint "$1" 2>/dev/null | grep -c .)" = "$2" ]; }
from_label() {
  local source
  source=$(findmnt -n -o SOURCE --mountpoint "$1" 2>/dev/null | head -n 1) || true
  [ -n "$source" ] && [ "$(readlink -f "$source")" = "$(readlink -f "/dev/disk/by-label/$2")" ]
}
label_leads_to_a_disk() { [ -n "$(readlink -e "/dev/disk/by-label/$1" 2>/dev/null)" ]; }
answers() {
  local status
  status=$(curl -sk -o /dev/null -w '%{http_code}' --max-time "$timeout_s" --resolve "$url:443:$vip" "https://$url/") &&
    [ "$status" -gt 0 ] && [ "$status" -lt 500 ]
}

me=$(crm_node --name 2>/dev/null || hostname)
for node in "${nodes[@]}"; do
  check "$node is a cluster member" member "$node"
done
if [ "$stonith" = true ]; then
  check "STONITH is enabled" stonith_on
  check "$me can fence its peer: the peer's BMC answers a status call" peer_fence_answers "$me"
fi
where=$(crm_resource --resource "$group" --locate --quiet 2>/dev/null | sort -u)
on=${where:-nowhere}
check "the group $group runs on exactly one node (${on//$'\n'/ and })" one_node
check "pacemaker manages the group $group (not in maintenance: a leftover update window?)" group_managed
check "the cluster is not in maintenance-mode (it stops fencing and every recovery)" cluster_managed
for i in "${!directories[@]}"; do
  directory=${directories[i]} label=${labels[i]}
  if [ "$where" = "$me" ]; then
    check "$directory is mounted here, once" mounted_times "$directory" 1
    check "$directory is its LUN, found by its label $label" from_label "$directory" "$label"
  else
    check "$directory is not mounted here (the group runs on ${where:-no node})" mounted_times "$directory" 0
    check "the label $label leads to a disk here: a failover finds $directory's LUN" label_leads_to_a_disk "$label"
  fi
done
check "https://$url/ answers on the VIP $vip" answers
check "the cluster stack is held: ${held[*]} (apt-mark showhold)" stack_held
check "$bluemind_target is masked" masked "$bluemind_target"
if ((failures)); then
  fail "$failures check(s) failed on $me" \
    "crm_mon -1 -r -f shows the cluster; fix what failed (README, Troubleshooting), then run pulumi up and this again"
fi
echo "$me: all checks passed"
