"""Every failing host step says what to run next, with the exact command (issue 17, item 6), mechanically:
a step stops on an error only through lib.sh's `fail`/`refuse` (no bare `exit 1`), every call of them
carries a NEXT naming the pulumi command that goes on, and a command that fails under `set -e` gets the
general Next from lib.sh's exit handler. Checked on the script files themselves (components/scripts/*.sh)
and on the fake host."""
from __future__ import annotations

import re
import shlex

import pytest

from components.render import node_scripts, sync_scripts
from components.render.shell import SCRIPTS_DIR
from tests.hostsim import Host, Reply
from tests.stacks import settings_of

# sync-guard.sh is no step: the sync-config step installs it as a command (lsyncd's start-up check, run by
# systemd under pacemaker, and the admin's `push`); its refusals name their own next commands.
STEP_FILES = sorted(p.name for p in SCRIPTS_DIR.glob("*.sh") if p.name != "sync-guard.sh")
# The definitions of the failure functions: the only places a step exits non-zero.
FAILURE_FUNCTIONS = ("fail", "refuse")
CALL = re.compile(r"(?:^|[;&|(]|\bthen|\belse|\bdo|\))\s*(fail|refuse)\s+(?=[\"$])")
NONZERO_EXIT = re.compile(r"\bexit\s+(?!0\b)(\S+)")
# Quoted text (messages, awk programs): an `exit` there is no exit of the step.
QUOTED = re.compile(r"\"(?:\\.|[^\"\\])*\"|'[^']*'")


def _code_lines(name: str) -> list[str]:
    """The file's lines, comments dropped (a `#` starting a line or after whitespace, outside quotes: enough
    for these files, which quote no `#` after a space)."""
    out = []
    for line in (SCRIPTS_DIR / name).read_text().splitlines():
        stripped = line.lstrip()
        out.append("" if stripped.startswith("#") else line)
    return out


def _outside_failure_functions(lines: list[str]) -> list[tuple[int, str]]:
    kept, inside = [], False
    for number, line in enumerate(lines, 1):
        if re.match(rf"^({'|'.join(FAILURE_FUNCTIONS)})\(\) \{{$", line):
            inside = True
        elif inside and line == "}":
            inside = False
        elif not inside:
            kept.append((number, line))
    return kept


def _calls(name: str) -> list[tuple[int, str, list[str]]]:
    """Each call of fail/refuse: its line, the function, and its arguments (continuation lines joined)."""
    lines = _code_lines(name)
    calls = []
    for number, line in _outside_failure_functions(lines):
        for match in CALL.finditer(line):
            text, at = line[match.start(1):], number
            while text.rstrip().endswith("\\"):
                text = text.rstrip()[:-1] + " " + lines[at].strip()
                at += 1
            lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
            lexer.whitespace_split = True
            words = []
            for word in lexer:
                if word and set(word) <= set(";&|()"):
                    break
                words.append(word)
            calls.append((number, words[0], words[1:]))
    return calls


@pytest.mark.parametrize("name", STEP_FILES)
def test_a_step_exits_non_zero_only_through_fail_or_refuse(name):
    bare = [(n, line.strip()) for n, line in _outside_failure_functions(_code_lines(name))
            if NONZERO_EXIT.search(QUOTED.sub("''", line))]
    assert bare == [], f"{name}: an error exit that does not say what to run next; use fail WHAT NEXT"


@pytest.mark.parametrize("name", STEP_FILES)
def test_every_failure_says_what_to_run_next_up_to_the_pulumi_command(name):
    for number, function, args in _calls(name):
        assert len(args) >= 2, f"{name}:{number}: {function} WHAT NEXT..., got {args}"
        what, next_ = args[0], " ".join(args[1:])
        assert what.strip() and "pulumi " in next_, f"{name}:{number}: the Next of '{what}' names no pulumi command"


def test_the_checks_find_the_calls_and_refuse_a_bare_exit():
    """The parser sees what the scripts hold: a sample of calls, each with its NEXT."""
    found = {(name, function) for name in STEP_FILES for _, function, _ in _calls(name)}
    assert {("preflight.sh", "fail"), ("cluster-packages.sh", "refuse"), ("update-common.sh", "refuse"),
            ("iscsi-login.sh", "fail"), ("update-packages.sh", "fail"), ("sync-trust.sh", "fail")} <= found
    assert NONZERO_EXIT.search('  echo "x" >&2; exit 1') and not NONZERO_EXIT.search("exit 0")
    assert not NONZERO_EXIT.search(QUOTED.sub("''", 'fail "crm_diff failed (exit $rc)" "pulumi up"'))


PROD = settings_of("prod")
NODE = PROD.nodes[0]


def test_a_command_failing_under_set_e_gets_the_general_next(tmp_path):
    run = Host(tmp_path, {"uname": [("-n", Reply(NODE.name + "\n"))],
                          "apt-get": [("install *", Reply(err="E: Unable to fetch some archives\n", rc=100))]}).run(
        node_scripts.cluster_packages(PROD, NODE))
    assert run.returncode == 100
    assert run.stderr.endswith("Next: the command above failed (exit 100); fix its cause, then run the same pulumi "
                               "command again (pulumi up, or pulumi destroy for a delete): it re-runs this step, "
                               "which changes only what is not in place yet.\n"), run.output


def test_a_failure_says_what_failed_then_next_once(tmp_path):
    run = Host(tmp_path).run(sync_scripts.sync_trust(PROD, NODE), stdin="not a key\nnot a key\n")
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert lines[0].startswith(f"FAILED: {NODE.name}: line 1 of {PROD.nodes[1].name}'s sync-key output")
    assert [line for line in lines if line.startswith("Next: ")] == [lines[1]] and "pulumi up" in lines[1]
