"""The rendered sync-key and sync-trust scripts, run as root in a private mount namespace whose /root and
/etc/ssh are the test's own directories (the real root's files are never touched)."""
from __future__ import annotations

import pytest

from components.names import SYNC_RSYNCD_CONF
from components.render.lsyncd import SYNC_SERVER_COMMAND, render_rsyncd_conf
from components.render.sync_scripts import sync_key, sync_trust
from tests.conftest import require_root, require_tool
from tests.realtools.sync_harness import NodeFiles, keygen, mode, state
from tools.stackfile import load_settings


def test_sync_key_creates_the_key_once_and_prints_it_and_the_host_key(tmp_path):
    require_root()
    require_tool("unshare", "ssh-keygen")
    s = load_settings("prod")
    node = s.nodes[0]
    files = NodeFiles.create(tmp_path / node.name)

    first = files.run(sync_key(s, node)).stdout
    private_key = (files.ssh_dir / "bluemind-ha-sync").read_bytes()
    second = files.run(sync_key(s, node)).stdout
    assert second == first and (files.ssh_dir / "bluemind-ha-sync").read_bytes() == private_key, "created once"
    sync_public, host_public = first.splitlines()
    assert sync_public == (files.ssh_dir / "bluemind-ha-sync.pub").read_text().strip()
    # sync-trust on the peer replaces its old entry by this comment.
    assert sync_public.startswith("ssh-ed25519 ") and sync_public.endswith(f" bluemind-ha-sync@{node.name}")
    assert host_public == (files.etc_ssh / "ssh_host_ed25519_key.pub").read_text().strip()
    assert (mode(files.ssh_dir), mode(files.ssh_dir / "bluemind-ha-sync")) == (0o700, 0o600)


def test_sync_trust_lets_the_peer_push_into_the_synced_roots_only_from_its_address_and_pins_its_host_key(
        tmp_path):
    require_root()
    require_tool("unshare", "ssh-keygen")
    s = load_settings("prod")
    node, peer = s.nodes
    peer_output = NodeFiles.create(tmp_path / peer.name).sync_key_output(s, peer)
    peer_sync_key, peer_host_key = peer_output.split("\n")
    files = NodeFiles.create(tmp_path / node.name)
    files.ssh_dir.mkdir(mode=0o755)
    admin_key = keygen(tmp_path / "admin", "admin@laptop")
    old_peer_key = keygen(tmp_path / "old", f"bluemind-ha-sync@{peer.name}")  # before the peer was reinstalled
    (files.ssh_dir / "authorized_keys").write_text(f"{admin_key}\nrestrict {old_peer_key}\n")

    files.run(sync_trust(s, node), stdin=peer_output)
    assert (files.ssh_dir / "authorized_keys").read_text() == (
        f'{admin_key}\nrestrict,from="{peer.ip}",command="{SYNC_SERVER_COMMAND}" {peer_sync_key}\n')
    rsyncd = files.etc / SYNC_RSYNCD_CONF.removeprefix("/etc/")
    assert rsyncd.read_text() == render_rsyncd_conf(s) and mode(rsyncd) == 0o644
    assert (files.ssh_dir / "bluemind-ha-sync.known_hosts").read_text() == f"{peer.ip} {peer_host_key}\n"
    assert {name: state[-1] for name, state in state(files.ssh_dir).items()} == {
        ".ssh": 0o700, "authorized_keys": 0o600, "bluemind-ha-sync.known_hosts": 0o600}

    before = state(files.ssh_dir)
    again = files.run(sync_trust(s, node), stdin=peer_output)
    assert again.stdout.split() == ["unchanged", "unchanged"] and state(files.ssh_dir) == before


@pytest.mark.parametrize("lines", ["", "{sync}", "{sync}\n", "\n{host}", "{sync}\nssh: connect to host port 22",
                                   'command="/bin/sh" {sync}\n{host}', "{host}\n{sync}"],
                         ids=["nothing", "no-host-key", "empty-host-key", "empty-sync-key", "an-error-instead",
                              "key-with-options", "swapped"])
def test_sync_trust_refuses_anything_but_two_public_keys_naming_the_peer(tmp_path, lines):
    require_root()
    require_tool("unshare", "ssh-keygen")
    s = load_settings("prod")
    node, peer = s.nodes
    sync_public, host_public = NodeFiles.create(tmp_path / peer.name).sync_key_output(s, peer).split("\n")
    files = NodeFiles.create(tmp_path / node.name)

    result = files.run(sync_trust(s, node), stdin=lines.format(sync=sync_public, host=host_public), check=False)
    assert result.returncode != 0 and f"{peer.name}'s sync-key" in result.stderr, result.stderr
    assert not files.ssh_dir.exists(), "nothing is written from a bad input"
    assert not (files.etc / "bluemind-ha").exists()
