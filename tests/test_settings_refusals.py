"""Every bad stack is refused as issue 13 asks: exit code 2, no traceback, the key path named, no plan written
(a stale plan of the stack is removed). One table of cases, each a committed stack with one mistake an admin
plausibly makes, run through the plan's own entry point (`tools.plan.main`, a subset as `python -m tools.plan`
in a subprocess)."""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.settings_refusal_cases import CASES as BASE_CASES
from tests.settings_refusal_cases import FILE, Case, edits
from tests.settings_refusal_qdevice import QDEVICE_CASES
from tools import plan
from tools.stackfile import stack_file

CASES = BASE_CASES + QDEVICE_CASES

ROOT = Path(__file__).resolve().parent.parent
SUBPROCESS = CASES[::12]


def _write_stack(case: Case, directory: Path) -> Path:
    source = stack_file(case.stack).read_text()
    if case.raw:
        content = case.edit(source)
    else:
        content = yaml.safe_dump(case.edit(copy.deepcopy(yaml.safe_load(source))), sort_keys=False)
    path = directory / FILE
    path.write_text(content)
    return path


def _stale_plan(directory: Path) -> Path:
    out = directory / "plan"
    out.mkdir()
    (out / "resources.json").write_text("[]\n")
    return out


def _assert_refused(case: Case, code: int, output: str, out: Path) -> None:
    assert code == 2, output
    assert "Traceback" not in output and "Error:" not in output.split("invalid", 1)[0], output
    assert case.key in output, f"{case.key!r} not named in:\n{output}"
    assert not (out / "resources.json").exists() and not (out / "cluster").exists()
    assert "PRIVATE KEY" not in output and "b3BlbnNzaC1rZXktdjE" not in output


def test_the_table_is_large_and_ids_unique():
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_refused_in_process(case, tmp_path, capsys):
    path, out = _write_stack(case, tmp_path), _stale_plan(tmp_path)
    code = plan.main([case.stack, str(out), "--file", str(path)])
    captured = capsys.readouterr()
    _assert_refused(case, code, captured.out + captured.err, out)


@pytest.mark.parametrize("case", SUBPROCESS, ids=[c.id for c in SUBPROCESS])
def test_refused_by_the_command(case, tmp_path):
    path, out = _write_stack(case, tmp_path), _stale_plan(tmp_path)
    result = subprocess.run([sys.executable, "-m", "tools.plan", case.stack, str(out), "--file", str(path)], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    _assert_refused(case, result.returncode, result.stdout + result.stderr, out)


def test_every_problem_of_a_stack_is_reported_in_one_run(tmp_path, capsys):
    case = edits("many", "prod", "", ("nodes[0].bmc.username", "a" * 17), ("cluster.name", "blue mind"),
                 ("network.nic", "eth0\n"), ("storage.lun_numbers./var/spool/nothere", 12), ("bluemind.users", 1.5))
    path, out = _write_stack(case, tmp_path), _stale_plan(tmp_path)
    assert plan.main(["prod", str(out), "--file", str(path)]) == 2
    err = capsys.readouterr().err
    for key in ("nodes[0].bmc.username", "cluster.name", "network.nic", "storage.lun_numbers./var/spool/nothere",
                "bluemind.users"):
        assert f"bluemind-ha:{key}:" in err, err
    assert "5 problems" in err


def test_a_trailing_slash_names_the_same_directory(tmp_path):
    from components.settings import parse_settings
    from tools.stackfile import read_stack_config
    config, secrets = read_stack_config("prod")
    config["storage"]["lun_sizes_gb"] = {"/var/spool/cyrus/": 10240}
    config["sync"] = {"extra_paths": ["/etc/bm-extra/"]}
    s = parse_settings("prod", config, secrets)
    assert next(lun for lun in s.storage.luns if lun.directory == "/var/spool/cyrus").size_gb == 10240
    assert s.sync.extra_paths == ("/etc/bm-extra",)


def test_the_shipped_stacks_still_plan(tmp_path):
    for stack in ("dev", "prod", "lab"):
        assert plan.main([stack, str(tmp_path / stack)]) == 0
        assert (tmp_path / stack / "resources.json").exists()


def _paths(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _paths(value, prefix + (key,))


@pytest.mark.parametrize("stack", ["dev", "prod", "lab"])
def test_no_value_anywhere_crashes_the_parser(stack):
    """Every setting of the stack replaced by each of a set of wrong values (or deleted) is refused with a
    SettingsError, never another exception (a traceback)."""
    from components.settings import SettingsError, parse_settings
    from tools.stackfile import read_stack_config
    base, secrets = read_stack_config(stack)
    wrong = [None, "", 0, -1, 1.5, True, [], {}, "x", [1], {"a": 1}, float("nan"), float("inf"), "a\nb", [None],
             {1: None}, 10 ** 30, DELETED]
    for path in list(_paths(base))[1:]:
        for value in wrong:
            config = copy.deepcopy(base)
            node = config
            for part in path[:-1]:
                node = node[part]
            if value is DELETED:
                del node[path[-1]]
            else:
                node[path[-1]] = value
            try:
                parse_settings(stack, config, secrets)
            except SettingsError:
                pass


DELETED = object()
