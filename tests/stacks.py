"""The stacks tests run on: the shipped stacks and their variants, each built from a stack file's config by
a change and then parsed and validated like any stack (never `dataclasses.replace` on parsed settings,
which would skip validation)."""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping, Sequence
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


def _update(mapping: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Keys of a stack file's mapping changed in place; None removes a key (the schema's default applies)."""
    for key, value in changes.items():
        if value is None:
            mapping.pop(key, None)
        else:
            mapping[key] = value


def settings_with(stack: str, firewall: dict[str, Any] | None = None, *,
                  nodes: Sequence[Mapping[str, Any]] = (), **changes: Any) -> Settings:
    """A shipped stack with some settings changed, parsed and validated like any stack:
    - `firewall` replaces the firewall section whole;
    - a keyword with a mapping changes keys of that section (`bluemind={"version": "5.3.3"}`), one with any
      other value the top-level setting (`failover="manual"`);
    - `nodes` changes each node's keys in turn (`nodes=({}, {"rename_host": True})`).
    None removes a key."""
    config, secrets = read_stack_config(stack)
    config = copy.deepcopy(config)
    if firewall is not None:
        config["firewall"] = firewall
    for key, value in changes.items():
        if isinstance(value, Mapping):
            _update(config.setdefault(key, {}), value)
        else:
            _update(config, {key: value})
    for node, node_changes in zip(config["nodes"], nodes, strict=False):
        _update(node, node_changes)
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
