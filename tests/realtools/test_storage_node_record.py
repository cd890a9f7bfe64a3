"""The node side of the shared storage: the node record the iscsi-login step keeps in line with iscsid.conf,
run with open-iscsi's real iscsiadm.

This kernel has no iSCSI initiator, so nothing here logs in; iscsiadm's record operations (create, show,
update) need none. The record part of the rendered login script runs in a sandbox (tests/realtools/sandbox.py)
with a test directory over /etc/iscsi (and /run, where iscsiadm locks its database, writable in the test's
directory), so this machine's own records are never touched.

Proves: the record takes every node.* setting of the rendered iscsid.conf (mutual CHAP, digests, startup,
timeouts); a re-run
changes nothing; a rotated CHAP secret reaches the existing record in place (no logout, no new record), so
the next login, whenever it comes, uses it; the secret never appears in the step's output.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from components.render.iscsi_initiator import iscsid_conf, login_script, node_record
from components.render.shell import script
from tests.conftest import require_root, require_tool
from tests.realtools.sandbox import Sandbox
from tools.stackfile import load_settings

STACK = "dev"
SECRET = "first-chap-secret-1"
ROTATED = "rotated-chap-secret"
MUTUAL = "mutual-chap-secret-2"


def _in_node(etc_iscsi: Path, argv: list[str]) -> subprocess.CompletedProcess:
    sandbox = Sandbox(binds={"/etc/iscsi": etc_iscsi}, overlays={"/run": etc_iscsi.with_name("run")})
    return subprocess.run(sandbox.command(*argv), capture_output=True, text=True, timeout=30)


def _node_settings(text: str) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in text.splitlines() if line.startswith("node.") and " = " in line)


def test_the_node_record_takes_iscsid_conf_and_a_rotated_chap_secret_in_place(tmp_path):
    require_root()
    require_tool("iscsiadm", "unshare")
    s = load_settings(STACK)
    record_part = node_record(s)
    for node in s.nodes:  # what runs here is what the iscsi-login step runs
        assert record_part.strip() in login_script(s, node)
    record_script = script("node record", record_part)
    etc_iscsi = tmp_path / "etc-iscsi"
    etc_iscsi.mkdir()

    def install_and_run(chap_password: str) -> str:
        """As the login step does: iscsid.conf installed, then the record part."""
        (etc_iscsi / "iscsid.conf").write_text(iscsid_conf(s, chap_password, MUTUAL))
        result = _in_node(etc_iscsi, ["bash", "-c", record_script])
        assert result.returncode == 0, result.stderr
        for secret in (SECRET, ROTATED, MUTUAL):
            assert secret not in result.stdout + result.stderr, "the step printed a CHAP secret"
        return result.stdout

    def record() -> dict[str, str]:
        shown = _in_node(etc_iscsi, ["iscsiadm", "-m", "node", "-T", s.storage.target_iqn, "-p", s.storage.portal,
                                     "-S"])
        assert shown.returncode == 0, shown.stderr
        return _node_settings(shown.stdout)

    created = install_and_run(SECRET)
    assert created.startswith("node record updated from iscsid.conf: ")
    wanted = _node_settings(iscsid_conf(s, SECRET, MUTUAL))
    assert wanted["node.session.auth.password"] == SECRET and wanted["node.startup"] == "automatic"
    # iscsiadm keeps mutual CHAP and the digests in the record, which iscsid logs in with
    assert wanted["node.session.auth.password_in"] == MUTUAL and wanted["node.conn[0].iscsi.HeaderDigest"] == "CRC32C"
    assert {k: record()[k] for k in wanted} == wanted
    records = sorted(p.relative_to(etc_iscsi) for p in (etc_iscsi / "nodes").rglob("*") if p.is_file())
    assert len(records) == 1

    assert install_and_run(SECRET) == ""  # the record already matches: nothing to do

    rotated = install_and_run(ROTATED)
    assert rotated == "node record updated from iscsid.conf: node.session.auth.password\n"
    assert {k: record()[k] for k in wanted} == _node_settings(iscsid_conf(s, ROTATED, MUTUAL))
    assert sorted(p.relative_to(etc_iscsi) for p in (etc_iscsi / "nodes").rglob("*") if p.is_file()) == records
