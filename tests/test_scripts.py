"""The host steps' shell files (components/scripts/): shellchecked as files, all on the shared lib.sh, whose
cleanup stack runs every cleanup once, in reverse, whatever ends the script; and how they are rendered."""
from __future__ import annotations

import re
import subprocess

import pytest

from components.render.shell import LIB, SCRIPTS_DIR, Text, header, inline, render, script
from tests.conftest import require_tool

FILES = sorted(p.name for p in SCRIPTS_DIR.glob("*.sh"))
# Sourced by steps, never run on their own.
PARTS = {LIB, "update-common.sh", "iscsi-node-record.sh", "filesystems-create.sh", "lun-add.sh", "lun-label.sh",
         "iscsi-second-portal.sh", "iscsi-multipath.sh", "qnetd-host.sh", "qdevice-host.sh"}
STEPS = [name for name in FILES if name not in PARTS]


@pytest.mark.parametrize("name", FILES)
def test_every_script_file_passes_shellcheck(name):
    require_tool("shellcheck")  # under CI=true a missing shellcheck fails
    result = subprocess.run(["shellcheck", "-x", name], cwd=SCRIPTS_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", STEPS)
def test_every_step_sources_the_library_first_and_never_sets_its_own_exit_trap(name):
    text = (SCRIPTS_DIR / name).read_text()
    commands = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert commands[0] == 'source "${BASH_SOURCE[0]%/*}/lib.sh"', name
    assert not re.search(r"\btrap\b.*\bEXIT\b", text), "use cleanup_push: an EXIT trap would drop lib.sh's"
    assert not re.search(r"\btrap\b.*\bEXIT\b", (SCRIPTS_DIR / "update-common.sh").read_text())


def test_a_rendered_step_is_the_header_then_the_file_with_our_sources_inlined():
    text = render("bmc-password.sh", "bm1: test", {"password_file": "/etc/x y/it's"})
    assert text.startswith("#!/usr/bin/env bash\n# bluemind-ha: bm1: test\n")
    assert "password_file='/etc/x y/it'\"'\"'s'\n" in text
    assert "source " not in text and "# shellcheck source=" not in text
    assert inline(LIB) in text and text.endswith((SCRIPTS_DIR / "bmc-password.sh").read_text().split("lib.sh\"\n")[1])


def test_header_quotes_every_kind_of_value():
    assert header({"a": "x y", "n": 3, "l": ["p q", "r"], "m": {"1": "s t"}}) == \
        "a='x y'\nn=3\nl=('p q' r)\ndeclare -A m=([1]='s t')\n"
    text = Text("line 1\n'quoted' $not_expanded\n", "END")
    result = subprocess.run(["bash", "-c", header({"t": text}) + 'printf %s "$t"'], capture_output=True, text=True,
                            timeout=10)
    assert result.stdout == text.value
    with pytest.raises(ValueError):
        header({"t": Text("a\nEND\n", "END")})


def _run(body: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script("cleanup test", body)], capture_output=True, text=True, timeout=10)


def test_the_cleanup_stack_runs_every_cleanup_in_reverse_and_keeps_the_exit_status():
    result = _run("""
cleanup_push echo first
failing() { echo failing; return 1; }
cleanup_push failing
cleanup_push echo "last, with  spaces"
exit 3
""")
    assert result.returncode == 3
    assert result.stdout == "last, with  spaces\nfailing\nfirst\n"


def test_temporary_files_and_directories_are_removed_on_exit_even_after_a_failure(tmp_path):
    result = _run(f"""
temp_file {tmp_path}/file.XXXXXX
echo "$REPLY"
temp_dir
echo "$REPLY"
touch "$REPLY/inside"
receive_stdin {tmp_path}/received.XXXXXX < <(printf 'from stdin')
echo "$(cat "$REPLY")"
false
echo never
""")
    assert result.returncode == 1 and "never" not in result.stdout
    file, directory, received = result.stdout.splitlines()
    assert file.startswith(str(tmp_path)) and received == "from stdin"
    assert list(tmp_path.iterdir()) == []
    assert subprocess.run(["test", "-e", directory]).returncode != 0
