"""A node rebuilt or replaced (issue 17, item 4): raising nodes[].generation re-runs every step of that node,
and nothing of its peer's, in place; the rebuilt node's first install is pinned to the stack's version of
today; the peer's sync-trust step is fed the rebuilt node's new keys, and pins the new host key in place of
the old one. Plans are compared URN by URN (tools/diff.py), as `make diff` does."""
from __future__ import annotations

import copy
import hashlib
import subprocess

import pytest

from components.remote_step import with_generation
from components.render import sync_scripts
from components.render.update import apt_pin
from tests.hostsim import Host, Reply
from tests.stacks import settings_of
from tools import plan
from tools.blast_radius import CASES, blast, resource_records
from tools.diff import diff_resources
from tools.stackfile import read_stack_config

STACKS = {"prod": ("bm-prod-a", "bm-prod-b"), "dev": ("bm1", "bm2")}


def _commands_of(records: list[dict], host: str) -> set[str]:
    return {r["name"] for r in records if r["type"] == plan.COMMAND_TYPE and r["name"].startswith(host + "-")}


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_raising_a_generation_reruns_every_step_of_that_node_and_nothing_else(stack):
    _, rebuilt = STACKS[stack]
    config, secrets = read_stack_config(stack)
    before = resource_records(stack, config, secrets)
    diff = blast(stack, CASES[stack]["generation"].edit)
    added = {name for _, name in diff.added}
    removed = {name for _, name in diff.removed}
    # Every step of the rebuilt node runs again: updated in place, or (its first install) a new step.
    assert diff.touched | removed == _commands_of(before, rebuilt)
    assert (added, removed) == ({f"{rebuilt}-bluemind-packages-g1"}, {f"{rebuilt}-bluemind-packages"})
    # In place: the scripts changed, nothing is replaced (a replace would run the old step's delete).
    assert not diff.replaced
    assert {c.changed_inputs for c in diff.changed} == {("create", "update")}
    # Nothing of the peer's, of the storage host's or of the hypervisor's.
    assert all(name.startswith(rebuilt + "-") for name in diff.touched | added | removed)


def test_the_generation_is_a_comment_under_the_title_and_zero_changes_nothing():
    script = "#!/usr/bin/env bash\n# bluemind-ha: bm2: preflight\nnode=bm2\n"
    assert with_generation(script, 0) == script
    assert with_generation(script, 2) == ("#!/usr/bin/env bash\n# bluemind-ha: bm2: preflight\n"
                                          "# generation 2 (nodes[].generation): raised after this host was rebuilt\n"
                                          "node=bm2\n")


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_a_rebuilt_node_installs_the_stacks_version_of_today_not_the_first_one(stack):
    """The first install keeps its creation-time pin (ignore_changes): after an update, a rebuilt node would
    reinstall the old release. Its new first-install step is a new resource, created with today's pin."""
    _, rebuilt = STACKS[stack]
    config, secrets = read_stack_config(stack)
    updated = copy.deepcopy(config)
    CASES[stack]["version"].edit(updated)
    rebuilt_config = copy.deepcopy(updated)
    CASES[stack]["generation"].edit(rebuilt_config)
    after_update = plan.run_program(stack, updated, secrets).declared
    after_rebuild = plan.run_program(stack, rebuilt_config, secrets).declared
    diff = diff_resources([d.record() for d in after_update], [d.record() for d in after_rebuild])
    first_install = f"{rebuilt}-bluemind-packages-g1"
    assert (plan.COMMAND_TYPE, first_install) in diff.added
    new = next(d for d in after_rebuild if d.name == first_install)
    assert new.ignore_changes == ["stdin"]
    assert new.stdin == apt_pin(updated["bluemind"]["version"])
    # The node's update-chain steps run again too, and find the release in place (they change nothing).
    assert f"{rebuilt}-update-packages" in diff.touched


class _KeysFromTheHost(plan._EchoMocks):
    """Each sync-key step prints the keys its host has: a rebuilt host (another script generation) has new
    ones. The real step prints /etc/ssh/ssh_host_ed25519_key.pub, which a reinstall renews."""

    def new_resource(self, args):
        rid, outputs = super().new_resource(args)
        if args.name.endswith("-sync-key"):
            host = args.name.removesuffix("-sync-key")
            made = hashlib.sha256(args.inputs["create"].encode()).hexdigest()[:16]
            outputs = {**outputs, "stdout": f"ssh-ed25519 AAAAsync{made} bluemind-ha-sync@{host}\n"
                                            f"ssh-ed25519 AAAAhost{made} root@{host}"}
        return rid, outputs


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_the_peer_pins_the_rebuilt_nodes_new_host_key(stack, monkeypatch):
    peer, rebuilt = STACKS[stack]
    monkeypatch.setattr(plan, "_EchoMocks", _KeysFromTheHost)
    config, secrets = read_stack_config(stack)
    raised = copy.deepcopy(config)
    CASES[stack]["generation"].edit(raised)
    stdin = {}
    for label, c in (("before", config), ("after", raised)):
        stdin[label] = {d.name: d for d in plan.run_program(stack, c, secrets).declared}
    trust = stdin["after"][f"{peer}-sync-trust"]
    assert trust.input_dependencies["stdin"] == [f"{rebuilt}-sync-key"]
    assert "ignore_changes" not in trust.raw_inputs and trust.ignore_changes == []
    old, new = stdin["before"][f"{peer}-sync-trust"].stdin, trust.stdin
    assert old != new and new.endswith(f" root@{rebuilt}\n")
    # The rebuilt node trusts the peer's unchanged keys again (its own sync-trust re-runs with them).
    assert stdin["before"][f"{rebuilt}-sync-trust"].stdin == stdin["after"][f"{rebuilt}-sync-trust"].stdin


def test_sync_trust_replaces_the_rebuilt_peers_old_host_key_and_sync_key(tmp_path):
    prod = settings_of("prod")
    node, peer = prod.nodes
    keys, made = {}, tmp_path / "keys"
    made.mkdir()
    for name, comment in (("sync", f"bluemind-ha-sync@{peer.name}"), ("host", f"root@{peer.name}")):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(made / name)],
                       check=True)
        keys[name] = (made / f"{name}.pub").read_text().strip()
    old_host = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOldOldOldOldOldOldOldOldOldOldOldOldOldOld root@old"
    old_sync = f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOldSyncOldSyncOldSyncOldSyncOldSyncOldSync bluemind-ha-sync@{peer.name}"
    admin = "ssh-ed25519 AAAAadmin admin@laptop"
    run = Host(tmp_path, {"ssh-keygen": [("*", Reply(run='exec /usr/bin/ssh-keygen "$@"'))]}, files={
        "/root/.ssh/authorized_keys": (f"{admin}\nrestrict {old_sync}\n", 0o600),
        "/root/.ssh/bluemind-ha-sync.known_hosts": (f"{peer.ip} {old_host}\n", 0o600)}).run(
        sync_scripts.sync_trust(prod, node), stdin=f"{keys['sync']}\n{keys['host']}\n")
    assert run.returncode == 0, run.output
    assert run.files["/root/.ssh/bluemind-ha-sync.known_hosts"].text == f"{peer.ip} {keys['host']}\n"
    authorized = run.files["/root/.ssh/authorized_keys"].text
    assert "Old" not in authorized and authorized.startswith(admin + "\n") and authorized.endswith(keys["sync"] + "\n")
