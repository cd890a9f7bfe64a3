#!/usr/bin/env bash
# What every update-chain step runs when it is first created: the first install is the nodes'
# bluemind-packages step, so the chain only records that the cluster runs the stack's release.
# shellcheck source=lib.sh
source "${BASH_SOURCE[0]%/*}/lib.sh"
: "${release:?}" "${version:?}" "${release_attribute[@]-}"

"${release_attribute[@]}" --update "$release"
echo "BlueMind $version: installed by the bluemind-packages step; this chain runs when the release changes."
