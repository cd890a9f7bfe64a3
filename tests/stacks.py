"""The stacks tests run on: the shipped stacks and their variants, each built from a stack file's config by
a change and then parsed and validated like any stack (never `dataclasses.replace` on parsed settings,
which would skip validation)."""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from components import sizing
from components.settings import Settings, parse_settings
from tools.stackfile import STACKS, read_stack_config


def _manual(config: dict[str, Any]) -> None:
    config["failover"] = "manual"
    for node in config["nodes"]:
        node.pop("bmc", None)


def _second_link(config: dict[str, Any]) -> None:
    config["network"]["link1_subnet"] = "10.98.0.0/24"
    for i, node in enumerate(config["nodes"]):
        node["link1_ip"] = f"10.98.0.{11 + i}"


def _bluemind(version: str) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        config["bluemind"]["version"] = version
        numbers = config["storage"].get("lun_numbers")
        if numbers and version.startswith("4."):
            # 4.x has no bm-hollowed or bm-mapi spool: a LUN number for a directory without a LUN is refused.
            config["storage"]["lun_numbers"] = {d: n for d, n in numbers.items() if d in sizing.shared_directories(4)}
    return change


# The arbitrator of each shipped stack's qdevice variant: a third machine on the nodes' network.
QDEVICE_HOSTS = {
    "dev": {"name": "bm-qnetd", "ip": "192.168.150.30"},
    "lab": {"name": "lab-qnetd", "ip": "10.99.0.30",
            "ssh_host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIrnHQO2IXnxEbg3tlIhOO83k6+ojnW9jNaY3uDTnX4T root@lab-qnetd"},
    "prod": {"name": "qnetd", "ip": "10.20.1.30",
             "ssh_host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIrnHQO2IXnxEbg3tlIhOO83k6+ojnW9jNaY3uDTnX4T root@qnetd"},
}


def _qdevice(stack: str) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        config.setdefault("cluster", {})["qdevice"] = dict(QDEVICE_HOSTS[stack])
    return change


STACK_NAMES = tuple(sorted(p.name.split(".")[1] for p in STACKS.glob("Pulumi.*.yaml")))
VARIANTS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "dev-manual": ("dev", _manual),
    "prod-manual": ("prod", _manual),
    "lab-second-link": ("lab", _second_link),
    "dev-bluemind-5": ("dev", _bluemind("5.3.2")),
    "prod-bluemind-4": ("prod", _bluemind("4.9.3")),
    "dev-qdevice": ("dev", _qdevice("dev")),
    "lab-qdevice": ("lab", _qdevice("lab")),
    "prod-qdevice": ("prod", _qdevice("prod")),
}
ALL = STACK_NAMES + tuple(VARIANTS)
# A second corosync link changes nothing in the CIB: lab-second-link is proved by corosync only.
CIB_CONFIGS = tuple(name for name in ALL if VARIANTS.get(name, (None, None))[1] is not _second_link)
QDEVICE_CONFIGS = tuple(name for name in ALL if name.endswith("-qdevice"))
# The two-node fence-race proofs (tests/realtools/test_cluster_proofs.py) are not an arbitrator's, whose own
# proofs are in tests/realtools/test_qdevice_matrix.py.
TWO_NODE_CIB_CONFIGS = tuple(name for name in CIB_CONFIGS if name not in QDEVICE_CONFIGS)


def config_of(name: str) -> tuple[dict[str, Any], set[str]]:
    """A stack's or a variant's config (a fresh copy: the variant's change applied) and its secret keys."""
    stack, change = VARIANTS.get(name, (name, None))
    config, secrets = read_stack_config(stack)
    config = copy.deepcopy(config)
    if change:
        change(config)
    return config, secrets


@functools.cache
def settings_of(name: str) -> Settings:
    return parse_settings(name, *config_of(name))


def settings_with(stack: str, firewall: dict[str, Any] | None = None, **changes: Any) -> Settings:
    """A shipped stack with top-level settings replaced (`firewall=` for the firewall section), parsed and
    validated like any stack."""
    config, secrets = read_stack_config(stack)
    config = copy.deepcopy(config)
    if firewall is not None:
        config["firewall"] = firewall
    config.update(changes)
    return parse_settings(stack, config, secrets)
