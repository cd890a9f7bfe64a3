"""The check each node runs before the CIB push enables STONITH: can I power my peer off?

It asks the peer's BMC for its power status with exactly the parameters of the CIB's fence device for the
peer (`fence_parameters`), passed on stdin as `name=value` lines the way pacemaker's fencer passes them, so
a wrong address, port, user, password file or cipher fails here, while the cluster is still safe, instead
of at the first fence, when a failover hangs on it.
"""
from __future__ import annotations

from components.render.cib import fence_parameters
from components.render.shell import script
from components.settings import Node, Settings

# The agent retries its own timeouts internally; this bounds the whole check whatever happens.
PREFLIGHT_TIMEOUT_S = 60


def agent_stdin(params: list[tuple[str, str]], action: str) -> str:
    """fence_ipmilan's stdin: the device's parameters without pacemaker's own pcmk_* ones, then the action."""
    lines = [f"{name}={value}" for name, value in params if not name.startswith("pcmk_")]
    return "\n".join(lines + [f"action={action}"]) + "\n"


def preflight_script(s: Settings, node: Node) -> str:
    """bash, run on `node`: exit 0 if the peer's fence device answers `status`, else 1 naming the peer's BMC."""
    peer = s.peer_of(node)
    assert peer.bmc is not None
    bmc = f"{peer.bmc.address}:{peer.bmc.port}"
    failed = (f"pre-flight FAILED on {node.name}: cannot fence {peer.name} through its BMC {bmc} "
              f"(user {peer.bmc.username})")
    return script(f"{node.name}: pre-flight of the fence device for {peer.name} (BMC {bmc})", f"""
if ! command -v fence_ipmilan >/dev/null; then
  echo "{failed}: fence_ipmilan is not installed (package fence-agents)" >&2
  exit 1
fi
rc=0
output=$(timeout {PREFLIGHT_TIMEOUT_S} fence_ipmilan 2>&1 <<'PARAMETERS'
{agent_stdin(fence_parameters(s, peer), "status")}PARAMETERS
) || rc=$?
case $rc in
  0) echo "pre-flight OK: {node.name} can fence {peer.name}; BMC {bmc} answers, {peer.name} is powered on" ;;
  2) echo "pre-flight OK: {node.name} can fence {peer.name}; BMC {bmc} answers, {peer.name} is powered OFF" ;;
  *)
    [ "$rc" = 124 ] && reason="no answer within {PREFLIGHT_TIMEOUT_S} s" || reason="fence_ipmilan status exit $rc"
    echo "{failed}: $reason." >&2
    echo "STONITH stays disabled. Check the BMC address/port, the user, the password in" \\
         "the password file and the cipher suite; the agent said:" >&2
    grep -v -e DeprecationWarning -e 'from pipes import' <<<"$output" >&2 || true
    exit 1
    ;;
esac
""")
