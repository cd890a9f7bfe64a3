"""The program's entry: settings from stack config, validated before anything is declared, then the
deployment and the stack outputs."""
from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components.deployment import BlueMindHa
from components.secrets import read_secrets
from components.settings import NAMESPACE, Settings, SettingsError, parse_settings
from components.settings.errors import warning_line


def _stack_config() -> tuple[dict[str, Any], set[str]]:
    """This stack's `bluemind-ha:*` config as parsed values, and which keys Pulumi holds as secrets.
    Values are read raw: whether a secret is *present* is all validation needs; its value stays an Output."""
    full_keys = sorted(set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env()))
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for full_key in full_keys:
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if runtime_config.is_config_secret(full_key):
            secrets.add(key)
            values[key] = "<secret>"
        else:
            values[key] = _decode(runtime_config.get_config(full_key))
    return values, secrets


def _decode(raw: str) -> Any:
    """Structured config (objects, lists, numbers) arrives JSON-encoded; plain text arrives as it is."""
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def load_settings() -> Settings:
    values, secrets = _stack_config()
    return parse_settings(pulumi.get_stack(), values, secrets)


def main() -> None:
    try:
        settings = load_settings()
        secrets = read_secrets(settings)
    except SettingsError as error:
        # One clear message, no traceback, and nothing declared: the stack is left as it was.
        raise pulumi.RunError(str(error)) from None
    for warning in settings.warnings:
        pulumi.log.warn(warning_line(warning))
    deployment = BlueMindHa("bluemind", settings, secrets)
    for key, value in deployment.outputs.items():
        pulumi.export(key, value)
