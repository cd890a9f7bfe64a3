"""The node-side storage and fencing renderers without daemons: the scripts pass shellcheck, VirtualBMC and
the pre-flight use exactly the fence parameters of the rendered CIB, and the initiator files are well formed.
(tests/realtools/ proves the same renderers against tgtd, libiscsi, ipmi_sim and fence_ipmilan.)"""
from __future__ import annotations

import configparser
import io
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from components.render.cib import fence_id, fence_parameters, render_cib
from components.render.cib_nvsets import INSTANCE, nvpairs
from components.render.fence_preflight import agent_stdin, preflight_script
from components.render.iscsi_initiator import initiatorname_iscsi, iscsid_conf, login_script
from components.render.storage_scripts import storage_targets
from components.render.vbmc import vbmc_config, vbmc_script
from components.settings import parse_settings
from tests.conftest import ROOT, require_tool
from tools.stackfile import load_settings, read_stack_config

STACKS = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
FENCED = [s for s in STACKS if load_settings(s).fenced]
LIBVIRT = [s for s in STACKS if load_settings(s).libvirt is not None]


def _cib_device_parameters(stack: str, node_name: str) -> dict[str, str]:
    s = load_settings(stack)
    root = ET.fromstring(render_cib(s))
    primitive = root.find(f".//primitive[@id='{fence_id(s.node(node_name))}']")
    return nvpairs(primitive, INSTANCE)


def _shellcheck(script: str) -> None:
    result = subprocess.run(["shellcheck", "-s", "bash", "-"], input=script, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_login_scripts_pass_shellcheck(stack):
    require_tool("shellcheck")
    s = load_settings(stack)
    for node in s.nodes:
        _shellcheck(login_script(s, node))


@pytest.mark.parametrize("stack", FENCED)
def test_preflight_scripts_pass_shellcheck_and_check_the_peer_with_the_cib_parameters(stack):
    require_tool("shellcheck")
    s = load_settings(stack)
    for node in s.nodes:
        script = preflight_script(s, node)
        _shellcheck(script)
        peer = s.peer_of(node)
        heredoc = re.search(r"<<'PARAMETERS'\n(.*?)PARAMETERS\n", script, re.S).group(1)
        sent = dict(line.split("=", 1) for line in heredoc.splitlines())
        device = {k: v for k, v in _cib_device_parameters(stack, peer.name).items() if not k.startswith("pcmk_")}
        assert sent == {**device, "action": "status"}
        assert f"BMC {peer.bmc.address}:{peer.bmc.port}" in script and peer.name in script


def test_agent_stdin_leaves_out_pacemakers_own_parameters():
    s = load_settings(FENCED[0])
    text = agent_stdin(fence_parameters(s, s.nodes[1]), "status")
    assert "pcmk_" not in text and text.endswith("action=status\n")


@pytest.mark.parametrize("stack", LIBVIRT)
def test_virtualbmc_listens_where_the_cib_fence_device_points(stack):
    require_tool("shellcheck")
    s = load_settings(stack)
    for node in s.nodes:
        rendered = vbmc_config(s, node, "bmc-secret")
        config = configparser.ConfigParser()
        config.read_string(rendered)  # vbmcd reads it with configparser
        vbmc, device = config["VirtualBMC"], _cib_device_parameters(stack, node.name)
        assert (vbmc["address"], vbmc["port"], vbmc["username"]) == (device["ip"], device["ipport"], device["username"])
        assert vbmc["domain_name"] == node.name and vbmc["libvirt_uri"] == s.libvirt.uri
        assert vbmc.getboolean("active") and vbmc["password"] == "bmc-secret"
        # vbmcd rewrites the file on start/stop; in configparser's layout that rewrite changes no byte, so
        # the script's "install only if changed" stays quiet on a re-run.
        rewritten = io.StringIO()
        config.write(rewritten)
        assert rewritten.getvalue() == rendered
        script = vbmc_script(s, node)
        _shellcheck(script)
        assert "bmc-secret" not in script


def test_virtualbmc_refuses_a_password_ipmi_cannot_carry():
    s = load_settings(LIBVIRT[0])
    with pytest.raises(ValueError, match="20 bytes"):
        vbmc_config(s, s.nodes[0], "x" * 21)


@pytest.mark.parametrize("stack", STACKS)
def test_initiator_files_carry_the_node_identity_and_the_chap_credentials(stack):
    s = load_settings(stack)
    for node in s.nodes:
        assert initiatorname_iscsi(node) == f"InitiatorName={node.iqn}\n"
    conf = iscsid_conf(s, "chap-secret-1234", "mutual-secret-5678")
    settings = dict(line.split(" = ", 1) for line in conf.splitlines() if " = " in line and not line.startswith("#"))
    assert settings["node.startup"] == "automatic"
    assert settings["node.session.auth.username"] == s.storage.chap_username
    assert settings["node.session.auth.password"] == "chap-secret-1234"
    # Mutual CHAP: the node asks the target to prove itself with the second secret.
    assert settings["node.session.auth.username_in"] == s.storage.chap_mutual_username
    assert settings["node.session.auth.password_in"] == "mutual-secret-5678"
    # CRC32C header digests, required (no None fallback); data digests off (README, "Security model").
    assert settings["node.conn[0].iscsi.HeaderDigest"] == "CRC32C"
    assert settings["node.conn[0].iscsi.DataDigest"] == "None"
    # Dead-path detection plus queueing must end before the CIB's Filesystem monitor times out, so a lost
    # LUN is a clean monitor failure, not a hung one.
    monitor = ET.fromstring(render_cib(s)).find(".//primitive[@type='Filesystem']/operations/op[@name='monitor']")
    detect = int(settings["node.conn[0].timeo.noop_out_interval"]) + int(settings["node.conn[0].timeo.noop_out_timeout"])
    assert detect + int(settings["node.session.timeo.replacement_timeout"]) < int(monitor.get("timeout").rstrip("s"))
    with pytest.raises(ValueError):
        iscsid_conf(s, "two\nlines", "mutual-secret-5678")


@pytest.mark.parametrize("fstype", ["xfs", "ext4"])
def test_the_storage_step_names_the_grow_command_of_each_luns_filesystem(fstype):
    """A grown LUN's filesystem is grown online on the active node: xfs_growfs takes the mount point, resize2fs
    the device. The storage-target step prints the command for each grown LUN (proved with tgtd in
    tests/realtools/test_storage_target_script.py); here, that each LUN gets its filesystem's own."""
    config, secret_keys = read_stack_config("dev")
    config["storage"] = {**config["storage"], "fstype": fstype}
    s = parse_settings("dev", config, secret_keys)
    commands = dict(re.findall(r"\[(\d+)\]='([^']*)'", re.search(r"^declare -A grow_filesystem=\((.*)\)$",
                                                                  storage_targets(s), re.M).group(1)))
    expected = {str(lun.number): (f"xfs_growfs {lun.directory}" if fstype == "xfs" else
                                  f"resize2fs /dev/disk/by-label/{lun.fs_label}") for lun in s.storage.luns}
    assert commands == expected
