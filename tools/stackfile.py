"""Read a stack's `stacks/Pulumi.<stack>.yaml` the way Pulumi would hand it to the program, without the CLI, and
at least as strictly as the CLI reads it: a duplicate key, a tab, a YAML syntax error (with file and line), a
file without the `config:` mapping and keys in a near-miss namespace (`bluemind_ha:`) are refused.

Secure values are never decrypted (no passphrase is needed or wanted): each becomes a placeholder derived
from its ciphertext, so a changed secret still changes what the plan sees, and no secret can leak into
`build/`. The committed stacks ship no secret at all: the offline plan and the tests supply a placeholder for
each required one (`with_placeholder_secrets`), and the plan says so.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.settings import NAMESPACE, Settings, parse_settings, required_secrets

ROOT = Path(__file__).resolve().parent.parent
STACKS = ROOT / "stacks"


class StackFileError(ValueError):
    """A stack file that Pulumi would not read as we do: names the file and line."""


@dataclass
class StackConfig:
    config: dict[str, Any]
    secrets: set[str]
    placeholders: list[str] = field(default_factory=list)  # required secrets the file does not hold


def stack_file(stack: str) -> Path:
    return STACKS / f"Pulumi.{stack}.yaml"


def secret_placeholder(ciphertext: str) -> str:
    # 18 characters: short enough for every secret's own limits (an IPMI password is at most 20 bytes).
    return "secret" + hashlib.sha256(ciphertext.encode()).hexdigest()[:12]


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (the CLI refuses it too; PyYAML would
    keep the last value, so a second `failover:` line silently switched fencing off)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise StackFileError(f"{key_node.start_mark.name}:{line}: the key {key!r} is given twice (first on line "
                                 f"{seen[key]}); Pulumi refuses a duplicate key: keep one")
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str, name: str) -> Any:
    for number, line in enumerate(text.splitlines(), 1):
        if "\t" in line:
            raise StackFileError(f"{name}:{number}: a tab character; YAML indents with spaces only")
    try:
        loader = _StrictLoader(text)
        loader.name = name
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{name}:{mark.line + 1}" if mark else name
        raise StackFileError(f"{where}: YAML syntax error: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{name}: YAML error: {error}") from None


def _near_miss(namespace: str) -> bool:
    squash = re.sub(r"[^a-z0-9]", "", namespace.lower())
    return squash == re.sub(r"[^a-z0-9]", "", NAMESPACE) or bool(difflib.get_close_matches(namespace, [NAMESPACE],
                                                                                           n=1, cutoff=0.75))


def config_from_yaml(raw: Any, name: str = "stack file") -> tuple[dict[str, Any], set[str]]:
    if not isinstance(raw, dict):
        raise StackFileError(f"{name}: `config:` must be a mapping of `{NAMESPACE}:<key>: <value>` lines")
    config: dict[str, Any] = {}
    secrets: set[str] = set()
    problems = []
    for full_key, value in raw.items():
        namespace, colon, key = str(full_key).partition(":")
        if not colon:
            problems.append(f"{name}: config key {full_key!r} has no namespace: write {NAMESPACE}:{full_key}")
            continue
        if namespace != NAMESPACE:
            if _near_miss(namespace):
                problems.append(f"{name}: config key {full_key!r} is in the namespace {namespace!r}, which the "
                                f"program never reads: did you mean {NAMESPACE}:{key}?")
            continue  # another program's or provider's namespace (libvirt:uri, ...)
        if isinstance(value, dict) and "secure" in value:
            if set(value) != {"secure"} or not isinstance(value["secure"], str) or not value["secure"]:
                problems.append(f"{name}: {full_key} must be `secure: <ciphertext>` alone, as `pulumi config set "
                                "--secret` writes it")
                continue
            value = secret_placeholder(value["secure"])
            secrets.add(key)
        config[key] = value
    if problems:
        raise StackFileError("\n".join(problems))
    return config, secrets


def with_placeholder_secrets(values: dict[str, Any], secrets: set[str],
                             required: list[str]) -> tuple[dict[str, Any], set[str], list[str]]:
    """The config with a placeholder secret for each required secret it does not hold (the offline plan and the
    tests: the committed stacks ship no secrets), and the keys so supplied."""
    values, secrets = dict(values), set(secrets)
    supplied = [key for key in required if values.get(key) in (None, "")]
    for key in supplied:
        values[key] = secret_placeholder(f"placeholder:{key}")
        secrets.add(key)
    return values, secrets, supplied


def read_stack(stack: str, path: Path | None = None, placeholders: bool = True) -> StackConfig:
    """A stack file, read strictly, with placeholders for the secrets it does not hold (unless told not to)."""
    path = path or stack_file(stack)
    shown = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    data = parse_yaml(path.read_text(), shown)
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise StackFileError(f"{shown}: no `config:` mapping; a stack file is `config:` followed by "
                             f"`{NAMESPACE}:<key>: <value>` lines")
    config, secrets = config_from_yaml(data["config"], shown)
    if not placeholders:
        return StackConfig(config, secrets)
    config, secrets, supplied = with_placeholder_secrets(config, secrets, required_secrets(config))
    return StackConfig(config, secrets, supplied)


def read_stack_config(stack: str, path: Path | None = None) -> tuple[dict[str, Any], set[str]]:
    """The stack's config (keys without the namespace) and the keys that are secrets (placeholders included)."""
    read = read_stack(stack, path)
    return read.config, read.secrets


def load_settings(stack: str, path: Path | None = None) -> Settings:
    config, secrets = read_stack_config(stack, path)
    return parse_settings(stack, config, secrets)
