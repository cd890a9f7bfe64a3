"""Read a stack's `stacks/Pulumi.<stack>.yaml` the way Pulumi would hand it to the program, without the CLI.

Secure values are never decrypted (no passphrase is needed or wanted): each becomes a placeholder derived
from its ciphertext, so a changed secret still changes what the plan sees, and no secret can leak into
`build/`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from components.settings import NAMESPACE, Settings, parse_settings

ROOT = Path(__file__).resolve().parent.parent
STACKS = ROOT / "stacks"


def stack_file(stack: str) -> Path:
    return STACKS / f"Pulumi.{stack}.yaml"


def secret_placeholder(ciphertext: str) -> str:
    # 18 characters: short enough for every secret's own limits (an IPMI password is at most 20 bytes).
    return "secret" + hashlib.sha256(ciphertext.encode()).hexdigest()[:12]


def read_stack_config(stack: str, path: Path | None = None) -> tuple[dict[str, Any], set[str]]:
    """The stack's config (keys without the namespace) and the keys that are secrets."""
    data = yaml.safe_load((path or stack_file(stack)).read_text()) or {}
    return config_from_yaml(data.get("config") or {})


def config_from_yaml(raw: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    config: dict[str, Any] = {}
    secrets: set[str] = set()
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            value = secret_placeholder(str(value["secure"]))
            secrets.add(key)
        config[key] = value
    return config, secrets


def load_settings(stack: str, path: Path | None = None) -> Settings:
    config, secrets = read_stack_config(stack, path)
    return parse_settings(stack, config, secrets)
