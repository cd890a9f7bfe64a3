"""The arbitrator's certificates (cluster.qdevice), made by the real steps with the real tools
(corosync-qnetd-certutil, corosync-qdevice-net-certutil, NSS certutil), each host a sandbox whose /etc/corosync
is the test's: the CA's certificate, each node's request and its signed certificate pass from one step's stdout
to the next step's stdin as `pulumi up` passes them, no private key ever does, each node's certificate checks
against the arbitrator's CA, and a re-run changes nothing."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components.names import QDEVICE_DROPIN, QDEVICE_NSSDB
from components.render import qdevice_scripts as q
from tests.conftest import require_root, require_tool
from tests.realtools.sandbox import Sandbox
from tests.stacks import settings_of

SYSTEMCTL_STUB = "#!/bin/sh\necho \"systemctl $*\" >> /etc/corosync/systemctl.log\n[ \"$1\" != is-active ]\n"


class Host:
    """One host: its own /etc/corosync and /etc/systemd/system, systemctl a stub (no systemd here)."""

    def __init__(self, tmp: Path, name: str):
        self.root = tmp / name
        (self.root / "corosync" / "qnetd").mkdir(parents=True)
        (self.root / "systemd").mkdir()
        stub = self.root / "systemctl"
        stub.write_text(SYSTEMCTL_STUB)
        stub.chmod(0o755)
        self.sandbox = Sandbox(binds={"/etc/corosync": self.root / "corosync", "/usr/bin/systemctl": stub,
                                      "/etc/systemd/system": self.root / "systemd"})

    def step(self, script: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess:
        return self.sandbox.run(script, stdin, check=check)

    def file(self, path: str) -> Path:
        """Where the host's `path` (under /etc/corosync or /etc/systemd/system) is in the test's directory."""
        return self.root / path.removeprefix("/etc/").replace("systemd/system/", "systemd/", 1)


@pytest.fixture
def exchange(tmp_path):
    require_root()
    require_tool("corosync-qnetd-certutil", "corosync-qdevice-net-certutil", "certutil", "unshare")
    s = settings_of("prod-qdevice")
    arbitrator = Host(tmp_path, "arbitrator")
    nodes = {n.name: Host(tmp_path, n.name) for n in s.nodes}
    ca = arbitrator.step(q.qnetd(s)).stdout
    outputs = {}
    for n in s.nodes:
        request = nodes[n.name].step(q.qdevice_request(s, n), ca).stdout
        signed = arbitrator.step(q.qnetd_sign(s, n), request).stdout
        imported = nodes[n.name].step(q.qdevice_cert(s, n), signed).stdout
        outputs[n.name] = (request, signed, imported)
    return s, arbitrator, nodes, ca, outputs


def test_each_node_holds_a_certificate_of_the_arbitrators_ca_and_no_key_moved(exchange):
    s, arbitrator, nodes, ca, outputs = exchange
    assert ca.startswith("-----BEGIN CERTIFICATE-----") and ca.rstrip().endswith("-----END CERTIFICATE-----")
    for n in s.nodes:
        host = nodes[n.name]
        request, signed, imported = outputs[n.name]
        check = host.step(f"certutil -V -u C -d {QDEVICE_NSSDB} -n '{q.CERT_NICKNAME}'")
        assert "certificate is valid" in check.stdout
        subject = host.step(f"certutil -L -d {QDEVICE_NSSDB} -n '{q.CERT_NICKNAME}'").stdout
        assert f"CN={s.cluster.name}" in subject
        assert "imported" in imported
        # The PKCS#12 file -M writes (key and certificate, no password) is gone: nothing would copy it.
        assert not (host.file(QDEVICE_NSSDB) / "qdevice-net-node.p12").exists()
        # corosync-qdevice starts with corosync, never at boot on its own.
        assert host.file(QDEVICE_DROPIN).read_text() == q.QDEVICE_DROPIN_TEXT
        assert "disable --quiet corosync-qdevice.service" in host.file("/etc/corosync/systemctl.log").read_text()
        for text in (ca, request, signed, imported):
            assert "PRIVATE" not in text and len(text) < 4000
    first, second = (outputs[n.name][0] for n in s.nodes)
    assert first != second  # each node made its own key
    # The CA's key stays on the arbitrator; no signed certificate is left lying there.
    assert not list(arbitrator.file("/etc/corosync/qnetd/nssdb").glob("cluster-*.crt"))


def test_a_rerun_changes_nothing_and_another_ca_starts_the_node_over(exchange, tmp_path):
    s, arbitrator, nodes, ca, outputs = exchange
    n = s.nodes[0]
    host = nodes[n.name]
    assert arbitrator.step(q.qnetd(s)).stdout == ca  # the CA is made once
    assert host.step(q.qdevice_request(s, n), ca).stdout == outputs[n.name][0]  # same request: nothing re-signed
    assert "unchanged" in host.step(q.qdevice_cert(s, n), outputs[n.name][1]).stdout
    other_ca = Host(tmp_path, "other-arbitrator").step(q.qnetd(s)).stdout
    assert other_ca != ca
    again = host.step(q.qdevice_request(s, n), other_ca)
    assert again.stdout != outputs[n.name][0] and "starts over" in again.stderr


def test_a_request_without_a_ca_is_refused(exchange):
    s, _, nodes, _, _ = exchange
    refused = nodes[s.nodes[0].name].step(q.qdevice_request(s, s.nodes[0]), "", check=False)
    assert refused.returncode != 0 and "no CA certificate" in refused.stderr


@pytest.mark.parametrize("lab", [False, True], ids=["program", "lab"])
def test_the_rendered_steps_pass_shellcheck(lab, tmp_path):
    """As the hosts (or the lab, its host parts no-ops) get them: header, lib.sh and the host part inlined."""
    require_tool("shellcheck")
    s = settings_of("prod-qdevice")
    node = s.nodes[0]
    parts = q.LAB_PARTS if lab else None
    for name, text in {"qnetd": q.qnetd(s, parts), "qnetd-sign": q.qnetd_sign(s, node),
                       "qdevice-request": q.qdevice_request(s, node, parts),
                       "qdevice-cert": q.qdevice_cert(s, node, parts)}.items():
        (tmp_path / f"{name}.sh").write_text(text)
        result = subprocess.run(["shellcheck", str(tmp_path / f"{name}.sh")], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, name + ": " + result.stdout
