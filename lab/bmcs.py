"""One ipmi_sim BMC per node (tools/ipmisim.py), in the hub namespace on the address and port the stack
gives the node's BMC. Its chassis control is lab.chassis, which switches the node's machine."""
from __future__ import annotations

import contextlib
from pathlib import Path

from lab.layout import HUB, PYTHON, ROOT, WORK, Layout, NodeLayout
from tools.ipmisim import Bmc


def chassis_script(node: NodeLayout) -> Path:
    """ipmi_sim runs one path plus the MC address: a wrapper naming the node's machine socket."""
    path = node.work / "chassis.sh"
    path.write_text(f"#!/bin/sh\ncd {ROOT} && exec {PYTHON} -m lab.chassis {node.machine_socket} \"$@\"\n")
    path.chmod(0o755)
    return path


def start_all(layout: Layout, passwords: dict[str, str], stack: contextlib.ExitStack) -> list[Bmc]:
    """Start every node's BMC; `stack` stops them (also on failure or Ctrl-C)."""
    bmcs = []
    for node in layout.nodes:
        bmc = node.node.bmc
        bmcs.append(stack.enter_context(Bmc(
            WORK / "bmc", address=bmc.address, port=bmc.port, username=bmc.username,
            password=passwords[node.name], chassis_script=chassis_script(node), command_prefix=["ip", "netns", "exec", HUB])))
    return bmcs
