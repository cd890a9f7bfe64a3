"""Reading raw stack config by the schema: each value's type, range and grammar, with its key path, and every
problem recorded (not only the first)."""
from __future__ import annotations

import difflib
import ipaddress
import math
from collections.abc import Mapping
from typing import Any

from components.settings import grammar as g
from components.settings import schema as sc
from components.settings.errors import Problems, SettingsError, Skip

UNSET: Any = object()


def type_name(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"{value!r}"


def expect_map(raw: Any, path: str) -> Mapping:
    if not isinstance(raw, Mapping):
        raise SettingsError(path, f"expected a map, got {type_name(raw)}",
                            f"write {path or 'it'} as a YAML mapping of keys (see README, Configuration reference)")
    return raw


class Obj:
    """One config map being read: remembers its key path, refuses keys the schema does not declare, and
    records each bad value (returning None for it) so that one run reports them all."""

    def __init__(self, raw: Any, path: str, template: str, problems: Problems):
        self.raw = expect_map(raw, path)
        self.path, self.template, self.problems = path, template, problems
        self.failed = False
        allowed = sc.children(template)
        for name in sorted(map(str, self.raw)):
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(allowed)}"
                self.fail(self.key(name), "is not a known setting", hint)

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, key: str, problem: str, fix: str) -> None:
        self.failed = True
        self.problems.add(key, problem, fix)

    def done(self) -> None:
        """Stop here (Skip) when a value of this map was refused: later checks would only echo it."""
        if self.failed:
            raise Skip()

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def read(self, name: str, default: Any = UNSET, choices: tuple[str, ...] | None = None) -> Any:
        spec = sc.key(f"{self.template}.{name}" if self.template else name)
        default = spec.default if default is UNSET else default
        value = self.raw.get(name)
        if value is None or value == "":
            if default is sc.REQUIRED:
                self.fail(self.key(name), "is required", f"set it to {spec.allowed()} ({spec.meaning})")
                return None
            return default
        try:
            return convert(spec, value, self.key(name), choices)
        except SettingsError as error:
            self.fail(error.path, error.problem, error.fix)
            return None

    def obj(self, name: str, required: bool) -> Obj | None:
        if self.raw.get(name) is None:
            if required:
                spec = sc.key(f"{self.template}.{name}")
                self.fail(self.key(name), "is required", f"add the {name} map: {spec.meaning}")
            return None
        try:
            return Obj(self.raw[name], self.key(name), f"{self.template}.{name}" if self.template else name,
                       self.problems)
        except SettingsError as error:
            self.fail(error.path, error.problem, error.fix)
            return None


def _refuse(spec: sc.Key, path: str, problem: str) -> SettingsError:
    return SettingsError(path, problem, f"set it to {spec.allowed()}")


def convert(spec: sc.Key, value: Any, path: str, choices: tuple[str, ...] | None = None) -> Any:
    """`value` checked and converted by its declaration, or a SettingsError naming `path`."""
    t = spec.type
    if t in (sc.INT, sc.NUMBER):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _refuse(spec, path, f"must be a number, got {type_name(value)}")
        if not math.isfinite(value):
            raise _refuse(spec, path, f"must be finite, got {value!r}")
        if t == sc.INT and not isinstance(value, int):
            raise _refuse(spec, path, f"must be a whole number, got {value!r}")
        if not spec.low <= value <= spec.high:
            raise _refuse(spec, path, f"is out of range: {value!r}")
        return float(value) if t == sc.NUMBER else value
    if t == sc.BOOL:
        if not isinstance(value, bool):
            raise _refuse(spec, path, f"must be true or false, got {type_name(value)}")
        return value
    if t in (sc.IPV4S, sc.PATHS, sc.CIDRS):
        if not isinstance(value, list):
            raise _refuse(spec, path, f"expected a list, got {type_name(value)}")
        item = sc.Key(spec.path, {sc.IPV4S: sc.IPV4, sc.PATHS: sc.PATH, sc.CIDRS: sc.CIDR}[t], spec.meaning)
        return tuple(convert(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if t == sc.EMAILS:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise _refuse(spec, path, "is an empty list")
        out = []
        for i, v in enumerate(items):
            at = f"{path}[{i}]" if isinstance(value, list) else path
            if not isinstance(v, str) or not g.EMAIL.matches(v):
                raise SettingsError(at, f"{type_name(v)} is not {g.EMAIL.says}", "list e-mail addresses")
            out.append(v)
        if len(set(out)) != len(out):
            raise SettingsError(path, "names an address twice", "list each address once")
        return tuple(out)
    if t in (sc.SIZES, sc.NUMBERS, sc.OBJECT, sc.NODES):
        return value
    if not isinstance(value, str):
        raise _refuse(spec, path, f"must be text, got {type_name(value)}")
    if t == sc.CHOICE:
        allowed = choices or spec.choices
        if value not in allowed:
            raise SettingsError(path, f"must be one of {', '.join(allowed)}, got {value!r}",
                                f"set it to one of {', '.join(allowed)}")
        return value
    if t == sc.IPV4:
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise _refuse(spec, path, f"is not an IPv4 address: {value!r}") from None
    if t == sc.CIDR:
        try:
            return ipaddress.IPv4Network(value, strict=True)
        except ValueError:
            raise _refuse(spec, path, f"is not an IPv4 network in CIDR form (host bits zero): {value!r}") from None
    if t == sc.PATH:
        normal = g.normal_path(value) if value.startswith("/") else value
        problem = g.path_problem(normal)
        if problem:
            raise _refuse(spec, path, problem)
        return normal
    if t == sc.PGP_KEY:
        problem = g.pgp_public_key_problem(value)
        if problem:
            raise SettingsError(path, f"the value {problem}", f"set it to {g.PGP_KEY_SAYS}")
        value = value.replace("\r\n", "\n")
        return value if value.endswith("\n") else value + "\n"
    if t == sc.SSH_KEY:
        problem = g.ssh_key_problem(value)
        if problem:
            shown = "the value" if "PRIVATE" in value or "\n" in value else repr(value[:40])
            raise SettingsError(path, f"{shown} {problem}", f"set it to {g.SSH_KEY_SAYS}")
        return value
    if spec.grammar and not spec.grammar.matches(value):
        raise _refuse(spec, path, f"{value!r} is not {spec.grammar.says}")
    return value
