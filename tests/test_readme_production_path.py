"""The README's "Deploy to production" path, followed as written (issue 17, "Done when").

What this proves, and what it does not:
- Every command of the path's `sh` blocks (and of the runbooks an admin copies from the stack outputs) names
  something that exists: each `make` target is in the Makefile, each `pulumi` subcommand and flag is one the
  real Pulumi CLI (.tools/bin, `make engine`) documents, each `pulumi stack output` is an output of the
  program, each secret it sets is one the program asks for.
- Steps 3 and 4 run verbatim (placeholders filled in) on a throwaway copy of the project with the lab stack
  and the real engine: the file backend login, the stack creation, every secret (the corosync-keygen pipe
  included), then `pulumi preview --diff`, which must run the program to the end.
- Not run: `pulumi up` (the engine here has a preview-only command provider: tools/engine/README.md), the
  commands on the hosts (ssh-keyscan, the verify pipe), `make plan`/`make diff` (run by their own tests).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from components.deployment import stack_outputs
from components.render.recovery import rebuild_runbook
from components.settings import required_secrets
from tests.conftest import ROOT, UNDER_CI, require_tool
from tests.stacks import settings_of
from tools.stackfile import read_stack_config

README = (ROOT / "README.md").read_text()
ENGINE = ROOT / ".tools" / "bin" / "pulumi"
TWO_WORD = {"config", "stack", "state", "plugin"}


def _section(title: str, end: str) -> str:
    return README[README.index(title):README.index(end, README.index(title))]


PATH = _section("## Deploy to production", "## The safety rules")
OUT_OF_CLUSTER = _section("### A node out of the cluster", "### Updates")


def _commands(text: str) -> list[str]:
    """The commands of every ```sh block: comments dropped, continuation lines joined."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def _pulumi_calls(command: str) -> list[list[str]]:
    """Each `pulumi ...` call in a command line (pipelines and && chains split), as words."""
    calls = []
    for part in re.split(r"\|\||&&|\||;", command):
        words = shlex.split(part.replace("$(", "").replace(")", ""), posix=True)
        if words and words[0] == "pulumi":
            calls.append(words[1:])
    return calls


@cache
def _help(subcommand: tuple[str, ...]) -> str:
    proc = subprocess.run([str(ENGINE), *subcommand, "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true",
                               "PULUMI_HOME": str(ROOT / ".tools" / "pulumi-home")})
    assert proc.returncode == 0, f"pulumi {' '.join(subcommand)}: not a command of the real CLI\n{proc.stderr}"
    return proc.stdout


def _require_engine() -> None:
    if not ENGINE.exists():
        if UNDER_CI:
            pytest.fail("the Pulumi engine is not built (run `make engine`)")
        pytest.skip("the Pulumi engine is not built (run `make engine`)")


def _admin_commands() -> list[str]:
    """What the admin copies: the README's path and out-of-cluster runbooks, and the rebuild outputs."""
    rendered = "".join(f"```sh\n{rebuild_runbook(settings_of(s))}```\n" for s in ("dev", "lab", "prod"))
    return _commands(PATH) + _commands(OUT_OF_CLUSTER) + _commands(rendered)


def test_the_path_has_its_commands():
    commands = _commands(PATH)
    for expected in ("mkdir -p ~/.pulumi-state && pulumi login file://$HOME/.pulumi-state", "pulumi preview --diff",
                     "pulumi up",
                     "make plan STACK=<name>", "pulumi stack output verify | ssh root@<node_a> bash"):
        assert expected in commands


def test_every_pulumi_command_and_flag_is_the_real_clis():
    _require_engine()
    for command in _admin_commands():
        for words in _pulumi_calls(command):
            subcommand = tuple(words[:2] if words[0] in TWO_WORD else words[:1])
            text = _help(subcommand)
            for flag in (w.split("=")[0] for w in words if w.startswith("-")):
                assert re.search(rf"(^|[\s,]){re.escape(flag)}[\s,=]", text, re.M), \
                    f"{command}: pulumi {' '.join(subcommand)} has no {flag}"


def test_every_make_target_and_stack_output_exists():
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    outputs = set(stack_outputs(settings_of("prod"))) & set(stack_outputs(settings_of("lab")))
    seen = set()
    for command in _admin_commands():
        for target in re.findall(r"\bmake ([a-z-]+)", command):
            assert target in targets, command
            seen.add(target)
        for output in re.findall(r"pulumi stack output ([a-z_]+)", command):
            assert output in outputs, command
            seen.add(output)
    assert {"plan", "diff", "verify"} <= seen


def _fill(command: str, stack: str) -> str:
    """The README's placeholders, filled in as an admin would for `stack`."""
    s = settings_of(stack)
    bmc = [n.bmc.password_key.removeprefix("bmc_password_") for n in s.nodes]
    for placeholder, value in (("<name>", stack), ("<node_a>", bmc[0]), ("<node_b>", bmc[1]),
                               ("<12 to 16 characters>", "lab-chap-secret1"),
                               ("<your subscription path>", "lab/subscription"), ("<BMC password>", "lab-bmc-secret")):
        command = command.replace(placeholder, value)
    assert "<" not in command, f"a placeholder left: {command}"
    return command


def _project_copy(tmp_path: Path) -> Path:
    """The project as an admin's checkout: the program, the stack files, the virtualenv (linked)."""
    project = tmp_path / "bluemind-ha"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "stacks", project / "stacks")
    for name in ("components", ".venv"):
        (project / name).symlink_to(ROOT / name)
    return project


def test_steps_3_and_4_run_as_written_on_the_lab_stack(tmp_path):
    _require_engine()
    require_tool("corosync-keygen")
    stack = "lab"
    project = _project_copy(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": f"{ROOT / '.tools' / 'bin'}:{os.environ['PATH']}", "HOME": str(home),
           "PULUMI_HOME": str(ROOT / ".tools" / "pulumi-home"), "PULUMI_SKIP_UPDATE_CHECK": "true",
           "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
           "PULUMI_CONFIG_PASSPHRASE": "bluemind-ha-test-passphrase"}
    secrets = _section("### 3. Backend, stack and secrets", "### 4.")
    apply = _section("### 4. Review, then apply", "### 5.")
    ran = []
    for command in _commands(secrets) + _commands(apply):
        if command.startswith("make ") or command == "pulumi up":
            continue  # make diff: tests/test_diff.py; pulumi up: the preview-only provider here
        filled = _fill(command, stack)
        proc = subprocess.run(["bash", "-c", f"set -eo pipefail; {filled}"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"{filled}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        ran.append((command, proc.stdout))
    assert [c for c, _ in ran][-1] == "pulumi preview --diff" and "+ " in ran[-1][1]
    # Every secret the stack needs was set by the README's commands, none in plain text.
    listed = subprocess.run(["pulumi", "config", "--json"], cwd=project, env=env, capture_output=True, text=True,
                            timeout=120, check=True).stdout
    needed = required_secrets(read_stack_config(stack)[0])
    for key in needed:
        assert re.search(rf'"bluemind-ha:{key}": {{\s*"secret": true', listed), f"{key} not set as a secret"
    assert "lab-chap-secret1" not in (project / "stacks" / f"Pulumi.{stack}.yaml").read_text()
