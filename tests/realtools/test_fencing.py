"""STONITH as rendered, against real IPMI: fence_ipmilan with each rendered stonith resource's parameters,
talking to one ipmi_sim BMC per node (tools/ipmisim.py) whose chassis power lives in a file.

The parameters are parsed from the rendered CIB XML and passed on stdin as `name=value` lines, as
pacemaker's fencer passes them. Only three things are changed to reach the simulator: `ip` and `ipport`
point at it, and the path in `password_script` ("cat <file>") points at a password file the test writes.
Also proves the node-side pre-flight (fence_preflight.py) passes and fails as an admin needs.
"""
from __future__ import annotations

import secrets
import subprocess
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.render.cib import bmc_password_file, render_cib
from components.render.cib_nvsets import INSTANCE, nvpairs
from components.render.fence_preflight import agent_stdin, preflight_script
from components.settings import Node, Settings
from tests.conftest import ROOT, require_tool
from tools.ipmisim import Bmc, free_udp_port, power_file_script, read_power
from tools.stackfile import load_settings

STACKS = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
FENCED_STACKS = [name for name in STACKS if load_settings(name).fenced]
AGENT_TIMEOUT_S = 60
# With the pinned cipher a status answers in ~0.1 s; without it ipmitool stalls ~15 s per call.
STATUS_MAX_S = 3
ACTIONS = ("status", "off", "status", "on", "reboot")


def stonith_parameters(cib_xml: str) -> dict[str, list[tuple[str, str]]]:
    """Each fence_ipmilan device of a rendered CIB: the node it fences -> its parameters, in order."""
    devices = {}
    for primitive in ET.fromstring(cib_xml).iter("primitive"):
        if primitive.get("class") != "stonith":
            continue
        assert primitive.get("type") == "fence_ipmilan", primitive.get("id")
        params = list(nvpairs(primitive, INSTANCE).items())
        target = dict(params)["pcmk_host_list"]
        assert target not in devices, f"two devices fence {target}"
        devices[target] = params
    return devices


def pointed_at_simulator(params: list[tuple[str, str]], node: Node, bmc: Bmc,
                         password_file: Path) -> list[tuple[str, str]]:
    """The rendered parameters with only ip, ipport and the password file's path changed."""
    replaced = {"ip": bmc.address, "ipport": str(bmc.port),
                "password_script": dict(params)["password_script"].replace(
                    f"cat {bmc_password_file(node)}", f"cat {password_file}")}
    assert replaced["password_script"] == f"cat {password_file}", "password_script is not `cat <file>`"
    return [(name, replaced.get(name, value)) for name, value in params]


def fence_ipmilan(params: list[tuple[str, str]], action: str) -> subprocess.CompletedProcess:
    return subprocess.run(["fence_ipmilan"], input=agent_stdin(params, action), capture_output=True, text=True,
                          timeout=AGENT_TIMEOUT_S)


@dataclass
class SimulatedNode:
    """A cluster node as its BMC sees it: the simulator, the power state file, and the device's parameters."""

    stack: str
    name: str
    settings: Settings
    rendered: list[tuple[str, str]]
    bmc: Bmc
    password: str
    password_file: Path
    power_file: Path
    history_file: Path

    @property
    def node(self) -> Node:
        return self.settings.node(self.name)

    @property
    def params(self) -> list[tuple[str, str]]:
        return pointed_at_simulator(self.rendered, self.node, self.bmc, self.password_file)

    def history(self) -> list[int]:
        return [int(line) for line in self.history_file.read_text().split()]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory) -> dict[tuple[str, str], SimulatedNode]:
    """One running BMC per node of every fenced stack, with the rendered user and a fresh password."""
    require_tool("ipmi_sim", "ipmitool", "fence_ipmilan")
    workdir = tmp_path_factory.mktemp("bmcs")
    with ExitStack() as stack:
        simulated = {}
        for stack_name in FENCED_STACKS:
            s = load_settings(stack_name)
            devices = stonith_parameters(render_cib(s))
            assert sorted(devices) == sorted(n.name for n in s.nodes), "one fence device per node"
            for node in s.nodes:
                base = workdir / f"{stack_name}-{node.name}"
                password = secrets.token_urlsafe(12)
                password_file = base.with_suffix(".password")
                password_file.write_text(password + "\n")  # as `pulumi up` writes it: one line
                power, history = base.with_suffix(".power"), base.with_suffix(".history")
                script = power_file_script(base.with_suffix(".sh"), power, initial=1, history_file=history)
                bmc = stack.enter_context(Bmc(workdir, port=free_udp_port(), username=dict(devices[node.name])["username"],
                                              password=password, chassis_script=script, max_lifetime_s=300))
                simulated[(stack_name, node.name)] = SimulatedNode(stack_name, node.name, s, devices[node.name], bmc,
                                                                   password, password_file, power, history)
        yield simulated


@dataclass
class Step:
    action: str
    returncode: int
    output: str
    seconds: float
    power: int
    history: list[int]


@pytest.fixture(scope="module")
def transcripts(nodes) -> dict[tuple[str, str], list[Step]]:
    """Each node's BMC driven through ACTIONS with its rendered parameters. The nodes run concurrently
    (each action waits power_wait = 2 s on its own); within a node the actions run in order."""
    def drive(node: SimulatedNode) -> list[Step]:
        steps = []
        for action in ACTIONS:
            start = time.monotonic()
            result = fence_ipmilan(node.params, action)
            steps.append(Step(action, result.returncode, result.stdout + result.stderr, time.monotonic() - start,
                              read_power(node.power_file), node.history()))
        return steps

    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        futures = {key: pool.submit(drive, node) for key, node in nodes.items()}
        return {key: future.result() for key, future in futures.items()}


NODE_KEYS = [(stack, node.name) for stack in FENCED_STACKS for node in load_settings(stack).nodes]


@pytest.mark.parametrize("key", NODE_KEYS, ids=[f"{s}-{n}" for s, n in NODE_KEYS])
def test_rendered_fence_device_drives_the_nodes_power(transcripts, key):
    status_on, off, status_off, on, reboot = transcripts[key]
    assert (status_on.returncode, status_on.power) == (0, 1) and "Status: ON" in status_on.output
    assert (off.returncode, off.power, off.history) == (0, 0, [0]), off.output
    # fence agents report "off" as status exit 2: what pacemaker reads as "this node is down".
    assert (status_off.returncode, status_off.power) == (2, 0) and "Status: OFF" in status_off.output
    assert (on.returncode, on.power, on.history) == (0, 1, [0, 1]), on.output
    # method=onoff: a reboot is a real power-off, confirmed, then power-on (never just "cycle").
    assert (reboot.returncode, reboot.power, reboot.history) == (0, 1, [0, 1, 0, 1]), reboot.output
    # The pinned cipher suite keeps every call free of the ~15 s cipher-suite probe.
    assert status_on.seconds < STATUS_MAX_S and status_off.seconds < STATUS_MAX_S


@pytest.mark.parametrize("stack", FENCED_STACKS)
def test_rendered_cipher_is_pinned_and_makes_the_password_matter(nodes, stack, tmp_path):
    s = load_settings(stack)
    node = nodes[(stack, s.nodes[0].name)]
    assert dict(node.rendered)["cipher"] == str(s.cluster.ipmi_cipher)
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    params = pointed_at_simulator(node.rendered, node.node, node.bmc, wrong)
    refused = fence_ipmilan(params, "off")
    assert refused.returncode == 1, refused.stdout
    assert "Unable to obtain correct plug status" in refused.stderr
    assert read_power(node.power_file) == 1, "a refused fence must not touch the power"
    # Why cipher 0 is never acceptable: it skips authentication, so the same wrong password gets through.
    no_auth = [(n, "0" if n == "cipher" else v) for n, v in params]
    assert fence_ipmilan(no_auth, "status").returncode == 0


@pytest.mark.parametrize("stack", FENCED_STACKS)
def test_rendered_device_asks_its_bmc_for_an_operator_session_only(nodes, stack):
    """Least privilege (issue 18): the stored BMC credential need not be an administrator's. The simulated
    user is an IPMI operator; every ipmitool call the agent makes asks for an operator session, and status
    works with it (off and on: test_rendered_fence_device_drives_the_nodes_power). ipmi_sim itself does not
    refuse a session above the user's level, so the requested level is read from the agent's own log."""
    s = load_settings(stack)
    node = nodes[(stack, s.nodes[0].name)]
    assert dict(node.rendered)["privlvl"] == "operator"
    result = fence_ipmilan(node.params + [("verbose", "1")], "status")
    calls = [line for line in (result.stdout + result.stderr).splitlines() if "Executing:" in line and "ipmitool" in line]
    assert result.returncode == 0 and calls, result.stdout + result.stderr
    assert all(" -L OPERATOR " in call for call in calls), calls


def _preflight_against(node: SimulatedNode, peer: SimulatedNode, address: str, port: int, password_file: Path) -> str:
    """`node`'s rendered pre-flight with only the peer BMC's ip, ipport and password file path changed."""
    bmc = peer.node.bmc
    text = preflight_script(node.settings, node.node)
    for old, new in ((f"\nip={bmc.address}\n", f"\nip={address}\n"), (f"\nipport={bmc.port}\n", f"\nipport={port}\n"),
                     (f"cat {bmc_password_file(peer.node)}\n", f"cat {password_file}\n")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def _run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-s"], input=script, capture_output=True, text=True, timeout=120)


def _peer(nodes, stack: str) -> tuple[SimulatedNode, SimulatedNode]:
    s = load_settings(stack)
    return nodes[(stack, s.nodes[0].name)], nodes[(stack, s.nodes[1].name)]


@pytest.mark.parametrize("stack", FENCED_STACKS)
def test_preflight_passes_when_the_peer_bmc_answers(nodes, stack):
    node, peer = _peer(nodes, stack)
    result = _run(_preflight_against(node, peer, peer.bmc.address, peer.bmc.port, peer.password_file))
    assert result.returncode == 0, result.stderr
    assert f"pre-flight OK: {node.name} can fence {peer.name}" in result.stdout


@pytest.mark.parametrize("stack", FENCED_STACKS)
def test_preflight_fails_naming_the_peer_when_its_password_is_wrong(nodes, stack, tmp_path):
    node, peer = _peer(nodes, stack)
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password\n")
    result = _run(_preflight_against(node, peer, peer.bmc.address, peer.bmc.port, wrong))
    bmc = peer.node.bmc
    assert result.returncode == 1
    assert f"cannot fence {peer.name} through its BMC {bmc.address}:{bmc.port}" in result.stderr
    assert "STONITH stays disabled" in result.stderr


def test_preflight_fails_naming_the_peer_when_nothing_answers(nodes):
    # The slowest case (the agent gives up after its 20 s shell timeout), so it runs for one stack only.
    stack = "dev" if "dev" in FENCED_STACKS else FENCED_STACKS[0]
    node, peer = _peer(nodes, stack)
    silent_port = free_udp_port()
    start = time.monotonic()
    result = _run(_preflight_against(node, peer, "127.0.0.1", silent_port, peer.password_file))
    bmc = peer.node.bmc
    assert result.returncode == 1
    assert f"cannot fence {peer.name} through its BMC {bmc.address}:{bmc.port}" in result.stderr
    assert time.monotonic() - start < 65, "the pre-flight must be bounded"
