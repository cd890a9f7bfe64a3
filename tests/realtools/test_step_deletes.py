"""What deleting a step does on a host (pulumi destroy, or the step leaving the stack): it removes what the
step installed, unless the cluster's configuration still refers to it. Run as root in a sandbox, with
pacemaker's own cibadmin reading the CIB pacemaker keeps on disk (no cluster runs in the sandbox)."""
from __future__ import annotations

from pathlib import Path

import pytest

from components.render import deletes
from components.render.cib import bmc_password_file, render_cib
from components.render.lsyncd import SYNC_KNOWN_HOSTS
from tests.conftest import require_root, require_tool
from tests.realtools.sandbox import Sandbox
from tests.stacks import settings_of
from tools.stackfile import load_settings


def _sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(overlays={"/etc": tmp_path / "etc", "/var/lib/pacemaker": tmp_path / "pacemaker"},
                   binds={"/root": _empty(tmp_path / "root")}, private_network=True)


def _empty(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cib_on_disk(tmp_path: Path, cib: str | None) -> None:
    disk = tmp_path / "pacemaker" / "cib"
    disk.mkdir(parents=True, exist_ok=True)
    if cib is not None:
        (disk / "cib.xml").write_text(cib)


@pytest.fixture(autouse=True)
def _tools():
    require_root()
    require_tool("unshare", "cibadmin")


def test_the_bmc_password_stays_while_a_fence_device_reads_it_and_goes_after(tmp_path):
    s = load_settings("prod")
    node, peer = s.nodes
    password = tmp_path / "etc" / bmc_password_file(peer).removeprefix("/etc/")
    password.parent.mkdir(parents=True)
    password.write_text("pw\n")
    sandbox = _sandbox(tmp_path)

    _cib_on_disk(tmp_path, render_cib(s))  # the fenced cluster (a destroy keeps it running)
    kept = sandbox.run(deletes.bmc_password_delete(s, node))
    assert password.read_text() == "pw\n" and "kept" in kept.stdout

    _cib_on_disk(tmp_path, render_cib(settings_of("prod-manual")))  # switched to manual: no fence device
    removed = sandbox.run(deletes.bmc_password_delete(s, node))
    assert not password.exists() and "removed" in removed.stdout


def test_without_any_cib_a_deleted_step_removes_what_it_installed(tmp_path):
    s = load_settings("prod")
    node, peer = s.nodes
    root = _empty(tmp_path / "root")
    ssh = _empty(root / ".ssh")
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOfTheAdmin admin@desk"
    (ssh / "authorized_keys").write_text(
        f'{other}\nrestrict,from="{peer.ip}",command="rrsync /" ssh-ed25519 AAAAC3Nza bluemind-ha-sync@{peer.name}\n')
    known = Path(SYNC_KNOWN_HOSTS.replace("/root", str(root)))
    known.write_text(f"{peer.ip} ssh-ed25519 AAAA\n")
    _cib_on_disk(tmp_path, None)

    result = _sandbox(tmp_path).run(deletes.sync_trust_delete(s, node))

    assert (ssh / "authorized_keys").read_text() == other + "\n", "only the peer's sync key goes"
    assert not known.exists() and "removed" in result.stdout


def test_lsyncd_keys_stay_while_the_group_runs_lsyncd(tmp_path):
    s = load_settings("prod")
    node = s.nodes[0]
    root = _empty(tmp_path / "root")
    key = _empty(root / ".ssh") / "bluemind-ha-sync"
    key.write_text("private\n")
    _cib_on_disk(tmp_path, render_cib(s))

    result = _sandbox(tmp_path).run(deletes.sync_key_delete(s, node))

    assert key.exists() and "kept" in result.stdout

