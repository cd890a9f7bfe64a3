"""Blast radius: change one setting of a stack and see which resources `pulumi up` would touch, and which
it would replace. The cases are the settings an admin changes on a live cluster.

Usage: python -m tools.blast_radius   (prints the table "setting -> resources touched" for dev and prod)
"""
from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tools.diff import PlanDiff, diff_resources
from tools.plan import run_program
from tools.stackfile import read_stack_config, secret_placeholder

Config = dict[str, Any]


@dataclass(frozen=True)
class Case:
    setting: str
    edit: Callable[[Config], None]


def _set_at(path: tuple[str, ...], value: Any) -> Callable[[Config], None]:
    """Set one nested setting, creating the objects on the way (an absent `cluster` block, ...)."""
    def edit(c: Config) -> None:
        for key in path[:-1]:
            c = c.setdefault(key, {})
        c[path[-1]] = value
    return edit


def _set_ram(gb: int) -> Callable[[Config], None]:
    # Both nodes: the settings refuse nodes of different RAM (bm-pimp sizes heaps from it).
    def edit(c: Config) -> None:
        for node in c["nodes"]:
            node["ram_gb"] = gb
    return edit


def _set_secret(key: str) -> Callable[[Config], None]:
    # As `pulumi config set --secret` would: a new ciphertext, hence a new placeholder.
    def edit(c: Config) -> None:
        c[key] = secret_placeholder(f"v1:rotated-{key}")
    return edit


def _raise_generation(node_index: int) -> Callable[[Config], None]:
    # The admin's move after a node's host was reinstalled or replaced (README, "A node rebuilt or replaced").
    def edit(c: Config) -> None:
        node = c["nodes"][node_index]
        node["generation"] = node.get("generation", 0) + 1
    return edit


def _add_sync_path(path: str) -> Callable[[Config], None]:
    def edit(c: Config) -> None:
        c.setdefault("sync", {}).setdefault("extra_paths", []).append(path)
    return edit


CASES: dict[str, dict[str, Case]] = {
    "dev": {
        "vip": Case("network.vip", _set_at(("network", "vip"), "192.168.150.101")),
        "ram": Case("nodes[*].ram_gb", _set_ram(24)),
        "lun": Case("storage.lun_sizes_gb./var/spool/cyrus", _set_at(("storage", "lun_sizes_gb", "/var/spool/cyrus"), 200)),
        "ipmi_password": Case("bmc_password_bm1 (secure)", _set_secret("bmc_password_bm1")),
        "token": Case("cluster.token_ms", _set_at(("cluster", "token_ms"), 6000)),
        "version": Case("bluemind.version", _set_at(("bluemind", "version"), "4.9.4")),
        "repository": Case("bluemind.apt_repository", _set_at(("bluemind", "apt_repository"),
                                                              "https://pkg.bluemind.net/bm/4.10/bookworm")),
        "subscription": Case("subscription_url (secure)", _set_secret("subscription_url")),
        "sync_path": Case("sync.extra_paths", _add_sync_path("/etc/bm-local-policy")),
        "generation": Case("nodes[1].generation", _raise_generation(1)),
    },
    "prod": {
        "vip": Case("network.vip", _set_at(("network", "vip"), "10.20.0.51")),
        "ram": Case("nodes[*].ram_gb", _set_ram(96)),
        "lun": Case("storage.lun_sizes_gb./var/spool/cyrus", _set_at(("storage", "lun_sizes_gb", "/var/spool/cyrus"), 12288)),
        "ipmi_password": Case("bmc_password_bm_prod_a (secure)", _set_secret("bmc_password_bm_prod_a")),
        "token": Case("cluster.token_ms", _set_at(("cluster", "token_ms"), 6000)),
        "version": Case("bluemind.version", _set_at(("bluemind", "version"), "5.3.3")),
        "repository": Case("bluemind.apt_repository", _set_at(("bluemind", "apt_repository"),
                                                              "https://pkg.bluemind.net/bm/5.4/bookworm")),
        "subscription": Case("subscription_url (secure)", _set_secret("subscription_url")),
        "sync_path": Case("sync.extra_paths", _add_sync_path("/etc/bm-local-policy")),
        "generation": Case("nodes[1].generation", _raise_generation(1)),
    },
}


def resource_records(stack: str, config: Config, secret_keys: set[str]) -> list[dict[str, Any]]:
    return [d.record() for d in run_program(stack, config, secret_keys).declared]


def blast(stack: str, edit: Callable[[Config], None]) -> PlanDiff:
    """The plan diff of one edit of the stack's own config (no artifacts: resources only)."""
    config, secret_keys = read_stack_config(stack)
    changed = copy.deepcopy(config)
    edit(changed)
    return diff_resources(resource_records(stack, config, secret_keys), resource_records(stack, changed, secret_keys))


def table() -> str:
    rows = ["| stack | setting changed | resources updated in place | replaced | changed but ignored | "
            "added, removed |", "|---|---|---|---|---|---|"]
    for stack, cases in CASES.items():
        for case in cases.values():
            d = blast(stack, case.edit)
            in_place = sorted(d.touched - d.replaced)
            ignored = sorted(f"{c.name} ({', '.join(c.ignored_inputs)})" for c in d.changed if c.ignored_inputs)
            added_removed = [f"+{name}" for _, name in d.added] + [f"-{name}" for _, name in d.removed]
            rows.append(f"| {stack} | `{case.setting}` | {', '.join(in_place) or '-'} | "
                        f"{', '.join(sorted(d.replaced)) or '-'} | {', '.join(ignored) or '-'} | "
                        f"{', '.join(added_removed) or '-'} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table())
    sys.exit(0)
