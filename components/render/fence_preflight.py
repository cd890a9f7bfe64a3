"""The check each node runs before the CIB push enables STONITH: can I power my peer off?

It asks the peer's BMC for its power status with exactly the parameters of the CIB's fence device for the
peer (`fence_parameters`), passed on stdin as `name=value` lines the way pacemaker's fencer passes them, so
a wrong address, port, user, password file or cipher fails here, while the cluster is still safe, instead
of at the first fence, when a failover hangs on it.
"""
from __future__ import annotations

import shlex

from components.names import bmc_password_file
from components.render.cib import fence_parameters
from components.render.shell import Text, render
from components.settings import Node, Settings

# The agent retries its own timeouts internally; this bounds the whole check whatever happens.
PREFLIGHT_TIMEOUT_S = 60


def agent_stdin(params: list[tuple[str, str]], action: str) -> str:
    """fence_ipmilan's stdin: the device's parameters without pacemaker's own pcmk_* ones, then the action."""
    lines = [f"{name}={value}" for name, value in params if not name.startswith("pcmk_")]
    return "\n".join(lines + [f"action={action}"]) + "\n"


def ipmitool_power(s: Settings, node: Node, action: str) -> str:
    """The ipmitool call, run on the peer of `node` (which keeps `node`'s BMC password), that asks `node`'s BMC
    for `chassis power <action>`. -f: the password file pulumi up wrote; never the password on the command
    line."""
    bmc = node.bmc
    return (f"ipmitool -I lanplus -C {s.cluster.ipmi_cipher} -H {bmc.address} -p {bmc.port} "
            f"-U {shlex.quote(bmc.username)} -f {bmc_password_file(node)} chassis power {action}")


def preflight_script(s: Settings, node: Node) -> str:
    """bash, run on `node`: exit 0 if the peer's fence device answers `status`, else 1 naming the peer's BMC."""
    peer = s.peer_of(node)
    assert peer.bmc is not None
    bmc = f"{peer.bmc.address}:{peer.bmc.port}"
    failed = (f"pre-flight FAILED on {node.name}: cannot fence {peer.name} through its BMC {bmc} "
              f"(user {peer.bmc.username})")
    return render("fence-preflight.sh", f"{node.name}: pre-flight of the fence device for {peer.name} (BMC {bmc})", {
        "node": node.name, "peer": peer.name, "bmc": bmc, "failed": failed, "timeout_s": PREFLIGHT_TIMEOUT_S,
        "power_status": ipmitool_power(s, peer, "status"),
        "parameters": Text(agent_stdin(fence_parameters(s, peer), "status"), "PARAMETERS")})
