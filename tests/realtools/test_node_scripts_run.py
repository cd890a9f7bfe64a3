"""The rendered node scripts `pulumi up` runs as root on the cluster nodes, run for real with the real tools.

- cib-push, with pacemaker's own CLI working on a CIB file (CIB_file) in place of the live cluster: the push
  brings in our configuration, keeps what admins set at run time, is a no-op when repeated, and never applies
  a CIB that crm_verify rejects.
- bmc-password, corosync-conf and hacluster-lock, as root in a sandbox (tests/realtools/sandbox.py) whose
  /etc is this machine's with every write landing in the test's directory: the files they write, their modes
  and owners, and that a re-run with the same input leaves them untouched (the shared install_stdin helper).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from components.render.cib import GROUP_ID, render_cib
from components.render.cib_nvsets import INSTANCE, META, PROPERTIES, nvpair_value, nvpairs
from components.render.corosync import render_corosync
from components.render.node_scripts import bmc_password, cib_push, corosync_conf, hacluster_lock
from tests.conftest import UNDER_CI, require_root, require_tool
from tests.realtools.sandbox import Sandbox
from tests.stacks import settings_of
from tools import crmsim
from tools.stackfile import load_settings

STACKS = ("dev", "prod")
TIME_LIMIT_S = 30


def _etc_sandbox(tmp_path: Path, **options) -> tuple[Sandbox, Path]:
    """A sandbox whose /etc writes land in the returned directory (paths relative to /etc)."""
    etc = tmp_path / "etc"
    return Sandbox(overlays={"/etc": etc}, **options), etc


def _state(path: Path) -> tuple:
    """What a rewrite would change: content, inode, mtime, mode, owner."""
    st = path.stat()
    return path.read_bytes(), st.st_ino, st.st_mtime_ns, st.st_mode & 0o7777, st.st_uid, st.st_gid


def _shows(secret: str, output: str) -> bool:
    """Whether any 8 characters in a row of `secret` are in `output`: a shell trace quotes what it prints,
    so a leaked secret with quotes in it is not there verbatim."""
    return any(secret[i:i + 8] in output for i in range(len(secret) - 7))


def _mode_and_owner(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_mode & 0o7777, st.st_uid, st.st_gid


# --- cib-push ---------------------------------------------------------------------------------------------
def _on_cib_file(cib: Path, *argv: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`argv` with pacemaker's tools working on the file `cib` as if it were the live cluster's CIB."""
    return subprocess.run(argv, input=stdin, env={**os.environ, "CIB_file": str(cib)}, capture_output=True,
                          text=True, timeout=TIME_LIMIT_S)


def _live_cib(tmp_path: Path, stack: str) -> Path:
    """The CIB of a running cluster: what an earlier push of the stack left, with manual failover then (no
    fence devices, STONITH off), both nodes up and the group started; then an admin's runtime state, set with
    pacemaker's own tools: a node in standby, the group moved (a cli-prefer constraint), maintenance mode and
    the group stopped."""
    earlier = settings_of(f"{stack}-manual")
    live = tmp_path / "live.xml"
    live.write_text(crmsim.settle(render_cib(earlier), [n.name for n in earlier.nodes]))
    first, second = (n.name for n in earlier.nodes)
    for argv in (("crm_attribute", "--node", first, "--name", "standby", "--update", "on"),
                 ("crm_resource", "--resource", GROUP_ID, "--move", "--node", second),
                 ("crm_attribute", "--name", "maintenance-mode", "--update", "true"),
                 ("crm_resource", "--resource", GROUP_ID, "--meta", "--set-parameter", "target-role",
                  "--parameter-value", "Stopped")):
        result = _on_cib_file(live, *argv)
        assert result.returncode == 0, f"{argv}: {result.stderr}"
    return live


def _value(cib: ET.Element, xpath: str, attribute: str = "value") -> str | None:
    found = cib.find(xpath)
    return None if found is None else found.get(attribute)


def _admin_state(cib: ET.Element, first: str) -> dict[str, str | None]:
    return {
        "standby": nvpair_value(cib.find(f"configuration/nodes/node[@uname='{first}']"), INSTANCE, "standby"),
        "moved to": _value(cib, f"configuration/constraints/rsc_location[@id='cli-prefer-{GROUP_ID}']", "node"),
        "maintenance-mode": nvpair_value(cib.find("configuration/crm_config"), PROPERTIES, "maintenance-mode"),
        "target-role": nvpair_value(cib.find(f"configuration/resources/group[@id='{GROUP_ID}']"), META, "target-role"),
    }


def _ours(cib: ET.Element) -> dict:
    """What the push owns and an admin relies on: the fence devices and their parameters, the group's members
    in start order, STONITH."""
    resources = cib.find("configuration/resources")
    return {
        "fence devices": {p.get("id"): nvpairs(p, INSTANCE) | nvpairs(p, META)
                          for p in resources.findall("primitive[@class='stonith']")},
        "group": [p.get("id") for p in resources.findall(f"group[@id='{GROUP_ID}']/primitive")],
        "stonith-enabled": nvpair_value(cib.find("configuration/crm_config"), PROPERTIES, "stonith-enabled"),
    }


@pytest.mark.parametrize("stack", STACKS)
def test_cib_push_brings_in_our_configuration_keeps_admin_state_and_repeats_as_a_no_op(tmp_path, stack):
    require_tool("crm_simulate", "crm_attribute", "crm_resource", "cibadmin", "crm_diff", "crm_verify", "python3")
    s = load_settings(stack)
    rendered = render_cib(s)
    live = _live_cib(tmp_path, stack)
    before = ET.parse(live).getroot()
    admin = _admin_state(before, s.nodes[0].name)
    assert admin == {"standby": "on", "moved to": s.nodes[1].name, "maintenance-mode": "true",
                     "target-role": "Stopped"}
    assert _ours(before) != _ours(ET.fromstring(rendered)), "the push must have something to bring in"

    # A CIB file has no DC to finish a transition: crm_resource --wait would wait its whole bound.
    script = cib_push(s, s.nodes[0]).replace("settle_timeout_s=900\n", "settle_timeout_s=1\n")
    result = _on_cib_file(live, "bash", "-c", script, stdin=rendered)
    # The file's status still shows the group where it ran (no DC acts on the admin's target-role=Stopped).
    assert result.returncode == 0 and result.stdout.startswith("CIB patched\nthe group bluemind runs "), result.stderr
    after = ET.parse(live).getroot()
    assert _ours(after) == _ours(ET.fromstring(rendered))
    assert _admin_state(after, s.nodes[0].name) == admin
    assert int(after.get("epoch")) > int(before.get("epoch"))
    verified = subprocess.run(["crm_verify", "--xml-file", str(live)], capture_output=True, text=True,
                              timeout=TIME_LIMIT_S)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    pushed = live.read_bytes()
    again = _on_cib_file(live, "bash", "-c", script, stdin=rendered)
    assert again.returncode == 0 and again.stdout.startswith("CIB unchanged\nthe group bluemind runs "), again.stderr
    assert live.read_bytes() == pushed, "a repeated push must not touch the CIB (not even its epoch)"


def test_cib_push_never_applies_a_cib_that_crm_verify_rejects(tmp_path):
    """A rendered CIB that lost its fence devices but keeps STONITH on would stop every resource: crm_verify
    rejects it, and the live CIB stays as it was."""
    require_tool("crm_simulate", "crm_attribute", "crm_resource", "cibadmin", "crm_diff", "crm_verify", "python3")
    s = load_settings("prod")
    broken = ET.fromstring(render_cib(s))
    resources = broken.find("configuration/resources")
    fence_devices = resources.findall("primitive[@class='stonith']")
    fence_ids = {p.get("id") for p in fence_devices}
    assert fence_ids
    for primitive in fence_devices:
        resources.remove(primitive)
    constraints = broken.find("configuration/constraints")
    for constraint in constraints.findall("*[@rsc]"):
        if constraint.get("rsc") in fence_ids:
            constraints.remove(constraint)
    live = _live_cib(tmp_path, "prod")
    untouched = live.read_bytes()

    result = _on_cib_file(live, "bash", "-c", cib_push(s, s.nodes[0]), stdin=ET.tostring(broken, encoding="unicode"))
    assert result.returncode != 0 and "config not valid" in result.stderr, result.stdout + result.stderr
    assert "CIB patched" not in result.stdout
    assert live.read_bytes() == untouched


# --- bmc-password (and install_stdin) ---------------------------------------------------------------------
def _password_file_of_fence_device(s, fenced) -> str:
    """The file the fence device of node `fenced` reads its BMC password from (its password_script)."""
    for device in ET.fromstring(render_cib(s)).findall("configuration/resources/primitive[@class='stonith']"):
        params = nvpairs(device, INSTANCE)
        if params.get("pcmk_host_list") == fenced.name:
            assert params["password_script"].startswith("cat /etc/"), params["password_script"]
            return params["password_script"].removeprefix("cat ")
    raise AssertionError(f"no fence device for {fenced.name}")


@pytest.mark.parametrize("stack", STACKS)
def test_bmc_password_is_where_the_fence_device_reads_it_root_only_and_rewritten_only_when_it_changes(
        tmp_path, stack):
    require_root()
    require_tool("unshare")
    s = load_settings(stack)
    node, peer = s.nodes
    script = bmc_password(s, node)
    sandbox, etc = _etc_sandbox(tmp_path)
    path = etc / _password_file_of_fence_device(s, peer).removeprefix("/etc/")
    password = "peer's BMC pw \\ $x\n"  # as ClusterNode sends it: the secret, then a newline

    first = sandbox.run(script, password)
    assert first.stdout == "changed\n" and not _shows(password, first.stderr)
    assert path.read_text() == password
    assert _mode_and_owner(path) == (0o600, 0, 0)
    assert _mode_and_owner(path.parent) == (0o700, 0, 0)
    assert [p.name for p in path.parent.iterdir()] == [path.name], "only the peer's password, no leftovers"

    # install_stdin: the same content again leaves the file as it is.
    installed = _state(path)
    again = sandbox.run(script, password)
    assert again.stdout == "unchanged\n" and _state(path) == installed

    # A password file loosened by hand is made root-only again, even with the same content.
    path.chmod(0o644)
    tightened = sandbox.run(script, password)
    assert tightened.stdout == "changed\n" and _mode_and_owner(path) == (0o600, 0, 0)

    rotated = "rotated BMC pw\n"
    changed = sandbox.run(script, rotated)
    assert changed.stdout == "changed\n" and path.read_text() == rotated
    assert _mode_and_owner(path) == (0o600, 0, 0)
    assert [p.name for p in path.parent.iterdir()] == [path.name]


# --- corosync-conf ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_corosync_conf_is_installed_only_once_corosync_accepts_it_on_this_node(tmp_path, stack):
    require_root()
    require_tool("unshare", "corosync", "corosync-keygen", "corosync-cfgtool")
    s = load_settings(stack)
    node = s.nodes[0]
    # corosync -t needs the keyfile and finds its own node by name. A network of its own: the script's
    # corosync-cfgtool can never reach (and reload) a corosync running on this machine.
    sandbox, etc = _etc_sandbox(tmp_path, hostname=node.name, private_network=True)
    (etc / "corosync").mkdir(parents=True)
    subprocess.run(["corosync-keygen", "-l", "-k", str(etc / "corosync/authkey")], check=True, capture_output=True,
                   timeout=TIME_LIMIT_S)
    installed = etc / "corosync/corosync.conf"
    conf = render_corosync(s)
    script = corosync_conf(s, node)

    sandbox.run(script, conf)
    assert installed.read_text() == conf
    assert _mode_and_owner(installed) == (0o644, 0, 0)
    assert sorted(p.name for p in installed.parent.iterdir()) == ["authkey", "corosync.conf"], "no leftovers"

    # The same configuration again: the file is not rewritten (so corosync is not reloaded for nothing).
    pushed = _state(installed)
    sandbox.run(script, conf)
    assert _state(installed) == pushed

    # Another stack's configuration does not name this node: corosync -t refuses it, nothing is replaced.
    foreign = render_corosync(load_settings(next(other for other in STACKS if other != stack)))
    refused = sandbox.run(script, foreign, check=False)
    assert refused.returncode != 0 and "No valid name found for local host" in refused.stderr, refused.stderr
    assert _state(installed) == pushed
    assert sorted(p.name for p in installed.parent.iterdir()) == ["authkey", "corosync.conf"], "no leftovers"


# --- hacluster-lock ---------------------------------------------------------------------------------------
def _crypt(password: str, setting: str) -> str:
    """crypt(3) of the system's libcrypt: what PAM (pam_unix) computes to check a login against the hash."""
    name = ctypes.util.find_library("crypt")
    if name is None:
        (pytest.fail if UNDER_CI else pytest.skip)("libcrypt (libcrypt1) not found")
    crypt = ctypes.CDLL(name).crypt
    crypt.restype, crypt.argtypes = ctypes.c_char_p, [ctypes.c_char_p, ctypes.c_char_p]
    result = crypt(password.encode(), setting.encode())
    return result.decode() if result else ""


def _shadow(text: str) -> dict[str, list[str]]:
    return {fields[0]: fields[1:] for fields in (line.split(":") for line in text.splitlines())}


@pytest.mark.parametrize("earlier", ["a password", "no password", "locked"])
def test_hacluster_is_locked_for_hacluster_only_and_a_rerun_changes_nothing(tmp_path, earlier):
    """Nothing uses the hacluster account's password (no pcsd, no hawk): the step locks it, whatever an earlier
    bluemind-ha (which set one) or an admin left, touches no other account, and leaves a locked one as it is."""
    require_root()
    require_tool("unshare", "chpasswd", "usermod", "passwd")
    s = load_settings("prod")
    sandbox, etc = _etc_sandbox(tmp_path)
    real = Path("/etc/shadow")
    assert "hacluster" in _shadow(real.read_text()), "the pacemaker package creates user hacluster"
    password = "set by an earlier bluemind-ha"
    before_step = {"a password": f"printf 'hacluster:%s\\n' '{password}' | chpasswd",
                   "no password": "passwd -d hacluster >/dev/null", "locked": "usermod -L hacluster"}[earlier]
    sandbox.run(before_step)
    before = _shadow((etc / "shadow").read_text())
    if earlier == "a password":
        assert _crypt(password, before["hacluster"][0]) == before["hacluster"][0], "the setup set a usable password"

    script = hacluster_lock(s, s.nodes[0])
    result = sandbox.run(script)
    after = _shadow((etc / "shadow").read_text())
    hashed = after["hacluster"][0]
    assert hashed.startswith("!"), hashed
    assert _crypt(password, hashed) != hashed and _crypt("", hashed) != hashed, "no password logs in"
    assert ("unchanged" if earlier == "locked" else "now locked") in result.stdout, result.stdout
    assert {user: entry for user, entry in after.items() if user != "hacluster"} == \
           {user: entry for user, entry in before.items() if user != "hacluster"}, "no other account changed"
    assert _mode_and_owner(etc / "shadow") == _mode_and_owner(real)

    locked = _state(etc / "shadow")
    again = sandbox.run(script)
    assert "unchanged" in again.stdout and _state(etc / "shadow") == locked, "a re-run must not rewrite /etc/shadow"
