"""`make guard-mutants` flips each safety guard by an exact text replacement: a guard whose text changed leaves
its mutant stale (BAD), which CI only learns at the end of its run. Found here in a second."""
from __future__ import annotations

import pytest

from tools.guard_mutants import MUTANTS, ROOT


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.file.rsplit('/', 1)[-1]}:{m.old.strip()[:40]}")
def test_each_guard_mutant_finds_its_guard_exactly_once(mutant):
    assert (ROOT / mutant.file).read_text().count(mutant.old) == 1, (
        f"{mutant.file} no longer holds the guarded text exactly once: update the mutant in tools/guard_mutants.py")
