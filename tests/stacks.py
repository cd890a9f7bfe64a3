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


STACK_NAMES = tuple(sorted(p.name.split(".")[1] for p in STACKS.glob("Pulumi.*.yaml")))
VARIANTS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "dev-manual": ("dev", _manual),
    "prod-manual": ("prod", _manual),
    "lab-second-link": ("lab", _second_link),
    "dev-bluemind-5": ("dev", _bluemind("5.3.2")),
    "prod-bluemind-4": ("prod", _bluemind("4.9.3")),
}
ALL = STACK_NAMES + tuple(VARIANTS)
# A second corosync link changes nothing in the CIB: lab-second-link is proved by corosync only.
CIB_CONFIGS = tuple(name for name in ALL if VARIANTS.get(name, (None, None))[1] is not _second_link)


@functools.cache
def settings_of(name: str) -> Settings:
    stack, change = VARIANTS.get(name, (name, None))
    config, secrets = read_stack_config(stack)
    config = copy.deepcopy(config)
    if change:
        change(config)
    return parse_settings(name, config, secrets)


def settings_with(stack: str, firewall: dict[str, Any] | None = None, **changes: Any) -> Settings:
    """A shipped stack with top-level settings replaced (`firewall=` for the firewall section), parsed and
    validated like any stack."""
    config, secrets = read_stack_config(stack)
    config = copy.deepcopy(config)
    if firewall is not None:
        config["firewall"] = firewall
    config.update(changes)
    return parse_settings(stack, config, secrets)


def with_storage_network(stack: str, prefix: str = "10.97.0") -> Settings:
    """A shipped stack moved onto a storage network `prefix`.0/24: the nodes at .11 and .12, the portal (tgt: the
    storage host's storage address; external: the SAN's portal) at .20."""
    config, secrets = read_stack_config(stack)
    config = copy.deepcopy(config)
    config["network"]["storage_subnet"] = f"{prefix}.0/24"
    for i, node in enumerate(config["nodes"]):
        node["storage_ip"] = f"{prefix}.{11 + i}"
    if config["storage"]["kind"] == "tgt":
        config["storage"]["host"]["storage_ip"] = f"{prefix}.20"
    else:
        config["storage"]["portal"] = f"{prefix}.20"
    return parse_settings(stack, config, secrets)
