"""How a host step's script is rendered: its `.sh` file under components/scripts/, made self-contained.

Each step is a real bash file there (shellchecked as a file), which sources the shared `lib.sh` (strict mode,
the cleanup stack, temporary files, install_stdin). Scripts are the `create`/`update` of pulumi_command
remote.Commands, and the host has no copy of our files: the rendered text is a title, a header of
shell-quoted variables (the only part Python writes), then the step's file with every `source`d file of
ours inlined in its place. Rendering is pure: the same Settings give the same bytes.

Rendered content (what the step installs) arrives on stdin, never on a command line (where `ps` and shell
history would show it). Each script is idempotent: a re-run with the same input changes nothing and says so.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"
LIB = "lib.sh"
# How a step file sources one of ours: from its own directory, so shellcheck -x and a local run find it.
_SOURCE = re.compile(r'^source "\$\{BASH_SOURCE\[0\]%/\*\}/([\w.-]+\.sh)"$')


@dataclass(frozen=True)
class Text:
    """A multi-line text variable, read from a quoted here-document (kept readable in the rendered script,
    exactly as given). `delimiter` ends it: no line of the text may be the delimiter."""

    value: str
    delimiter: str = "TEXT"


Value = str | int | Text | Sequence[str] | Mapping[str, str]


def _assignment(name: str, value: Value) -> str:
    if isinstance(value, Text):
        if value.delimiter in value.value.splitlines() or not value.value.endswith("\n"):
            raise ValueError(f"{name}: the text must end with a newline and hold no line {value.delimiter}")
        # read -d '' reads to the end (exact bytes, last newline included) and then returns 1.
        return f"{{ IFS= read -r -d '' {name} || true; }} <<'{value.delimiter}'\n{value.value}{value.delimiter}"
    if isinstance(value, (str, int)):
        return f"{name}={shlex.quote(str(value))}"
    if isinstance(value, Mapping):
        pairs = " ".join(f"[{shlex.quote(str(k))}]={shlex.quote(v)}" for k, v in value.items())
        return f"declare -A {name}=({pairs})"
    return f"{name}=({' '.join(shlex.quote(v) for v in value)})"


def header(variables: Mapping[str, Value]) -> str:
    """The step's parameters as shell assignments, in the given order."""
    return "".join(_assignment(name, value) + "\n" for name, value in variables.items())


@cache
def _file(name: str) -> str:
    return (SCRIPTS_DIR / name).read_text()


def inline(name: str, parts: Mapping[str, str] | None = None) -> str:
    """The text of components/scripts/`name` as it runs on a host: shebang and shellcheck directives dropped,
    each `source`d file of ours replaced by its own inlined text (or by `parts[file]`, already rendered)."""
    out = []
    for line in _file(name).splitlines(keepends=True):
        if line.startswith("#!") or line.startswith("# shellcheck "):
            continue
        sourced = _SOURCE.match(line.rstrip("\n"))
        if sourced:
            file = sourced.group(1)
            out.append(parts[file] if parts and file in parts else inline(file, parts))
        else:
            out.append(line)
    return "".join(out)


def _top(title: str) -> str:
    # The files are shellchecked as they are (tests/test_scripts.py); inlined, the library's functions that
    # a step does not call look unreachable to shellcheck 0.9 when the step ends with `exit`.
    return f"#!/usr/bin/env bash\n# bluemind-ha: {title}\n# shellcheck disable=SC2317\n"


def render(step: str, title: str, variables: Mapping[str, Value] | None = None,
           parts: Mapping[str, str] | None = None) -> str:
    """The complete script of a host step: shebang, title, the header of variables, then components/scripts/
    `step` with lib.sh (and any other file of ours it sources) inlined."""
    return _top(title) + header(variables or {}) + inline(step, parts)


def script(title: str, body: str) -> str:
    """A complete bash script from a body written elsewhere (tests): shebang, title, lib.sh, the body."""
    return f"{_top(title)}{inline(LIB)}\n{body.strip()}\n"
