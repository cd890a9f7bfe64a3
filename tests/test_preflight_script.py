"""The pre-flight, executed: every problem listed at once, nothing passes that should not. Real TCP listeners
on loopback stand for the peer and the portal; a stand-in timedatectl and os-release for the host."""
from __future__ import annotations

import socket
import subprocess

import pytest

from components.render.node_scripts import preflight
from tools.stackfile import load_settings


@pytest.fixture
def listeners():
    sockets = []

    def listen() -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sockets.append(sock)
        return sock.getsockname()[1]

    yield listen
    for sock in sockets:
        sock.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(tmp_path, listeners, os_id="debian", version="12", synced="yes", peer_up=True, portal_up=True,
         route_src="10.22.0.11"):
    os_release = tmp_path / "os-release"
    os_release.write_text(f'ID={os_id}\nVERSION_ID="{version}"\n')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "timedatectl").write_text(f"#!/bin/sh\necho {synced}\n")
    (bin_dir / "timedatectl").chmod(0o755)
    # `ip -o route get <portal>`, as iproute2 prints it: which address the node would connect from.
    (bin_dir / "ip").write_text(f'#!/bin/sh\necho "$4 via 10.20.0.1 dev bond0 src {route_src} uid 0 \\    cache "\n')
    (bin_dir / "ip").chmod(0o755)
    ssh_port = listeners() if peer_up else _closed_port()
    portal_port = listeners() if portal_up else _closed_port()
    s = load_settings("prod")
    script = preflight(s, s.nodes[0])
    for old, new in (("os_release=/etc/os-release", f"os_release={os_release}"),
                     (f"portal_ip={s.storage.portal_ip}", "portal_ip=127.0.0.1"),
                     (f"portal_port={s.storage.portal_port}", f"portal_port={portal_port}"),
                     ("ssh_port=22", f"ssh_port={ssh_port}"),
                     (f"peer_addresses=({s.nodes[1].ip})", "peer_addresses=(127.0.0.1)")):
        assert old in script, old
        script = script.replace(old, new)
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"})


def test_a_ready_node_passes(tmp_path, listeners):
    result = _run(tmp_path, listeners)
    assert result.returncode == 0 and "pre-flight OK" in result.stdout, result.stderr


@pytest.mark.parametrize(("fault", "named"), [
    ({"version": "11"}, "not Debian 12"),
    ({"os_id": "ubuntu"}, "not Debian 12"),
    ({"synced": "no"}, "clock is not synchronized"),
    ({"peer_up": False}, "the peer does not answer"),
    ({"portal_up": False}, "iSCSI portal 127.0.0.1"),
    # prod has a storage network: a route from the client address would take iSCSI across the client LAN
    ({"route_src": "10.20.0.11"}, "reached from 10.20.0.11, not from the storage address 10.22.0.11"),
])
def test_each_problem_fails_the_step_and_is_named(tmp_path, listeners, fault, named):
    result = _run(tmp_path, listeners, **fault)
    assert result.returncode == 1 and named in result.stderr and "nothing was changed" in result.stderr


def test_every_problem_is_listed_in_one_run(tmp_path, listeners):
    result = _run(tmp_path, listeners, version="11", synced="no", peer_up=False, portal_up=False,
                  route_src="10.20.0.11")
    assert result.returncode == 1 and result.stderr.count("\n  - ") == 5, result.stderr
