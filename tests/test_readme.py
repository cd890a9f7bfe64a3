"""The README says what the code does: its copies of generated text and its tables stay in step."""
from __future__ import annotations

import re

from components.remote_step import STEP_ORDER
from components.render.runbooks import switchover_commands
from tests.conftest import ROOT
from tools.stackfile import load_settings

README = (ROOT / "README.md").read_text()


def _between(start: str, end: str) -> str:
    return README[README.index(start) + len(start):README.index(end)]


def test_the_switchover_copy_is_the_dev_stacks_output():
    block = _between("<!-- switchover: dev -->\n```sh\n", "```\n<!-- /switchover -->")
    assert block == switchover_commands(load_settings("dev"))


def test_the_destroy_table_says_what_every_step_does_on_delete():
    table = _between("<!-- delete-table", "<!-- /delete-table -->")
    listed = set(re.findall(r"`([a-z0-9-]+(?:-\*|-<node>)?)`", table))
    kinds = {k for k in STEP_ORDER}
    missing = {k for k in kinds if k not in listed and not (k.startswith("update-") and "update-*" in listed)
               and not (k == "virtualbmc" and "virtualbmc-<node>" in listed)}
    assert missing == set()
