"""Where every piece of the lab lives: namespaces, addresses and work files, all derived from the stack.

Only the stack's own addresses (10.99.0.0/24 for `lab`) are used, and only inside the lab's namespaces:
the hub namespace holds the bridge, the client (on the subnet's gateway address) and the BMCs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.settings import Lun, Node, Settings

ROOT = Path(__file__).resolve().parent.parent
# Outside the repo: build/<stack>/ is the plan output of each stack (`make plan STACK=lab` rewrites build/lab).
WORK = Path("/var/tmp/bluemind-ha-lab")
PYTHON = ROOT / ".venv" / "bin" / "python"
PREFIX = "bmlab"  # every namespace and link of the lab starts with this, so a stale lab is easy to find
HUB = f"{PREFIX}-hub"
BRIDGE = "br0"
BMC_PASSWORD_LENGTH = 16  # IPMI allows 20 bytes


@dataclass(frozen=True)
class NodeLayout:
    node: Node
    prefix: int

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def netns(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def hub_link(self) -> str:
        """The hub's end of the node's cable: cutting it is the network split."""
        return f"{PREFIX}-{self.name}"[:15]

    @property
    def address(self) -> str:
        return f"{self.node.ip}/{self.prefix}"

    @property
    def work(self) -> Path:
        return WORK / "nodes" / self.name

    @property
    def disk(self) -> Path:
        """The node's own disk: the directories that survive its reboots (bind-mounted in its namespace)."""
        return self.work / "disk"

    @property
    def machine_socket(self) -> Path:
        return self.work / "machine.sock"

    @property
    def power_log(self) -> Path:
        return self.work / "power.log"


@dataclass(frozen=True)
class Layout:
    settings: Settings

    @property
    def nodes(self) -> tuple[NodeLayout, ...]:
        return tuple(NodeLayout(n, self.settings.network.prefix) for n in self.settings.nodes)

    def node(self, name: str) -> NodeLayout:
        return next(n for n in self.nodes if n.name == name)

    def peer(self, name: str) -> NodeLayout:
        return next(n for n in self.nodes if n.name != name)

    @property
    def nic(self) -> str:
        return self.settings.network.nic

    @property
    def client_address(self) -> str:
        return f"{self.settings.network.gateway}/{self.settings.network.prefix}"

    @property
    def vip(self) -> str:
        return self.settings.network.vip

    @property
    def luns(self) -> tuple[Lun, ...]:
        return self.settings.storage.luns

    @property
    def authkey(self) -> Path:
        return WORK / "authkey"

    @property
    def client_log(self) -> Path:
        return WORK / "client.log"
