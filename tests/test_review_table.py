"""docs/review.md's blast-radius table is the one `python -m tools.blast_radius` prints: a new case (or a
changed answer) must reach the reviewers' document."""
from __future__ import annotations

from tools.blast_radius import table
from tools.stackfile import ROOT


def test_the_review_document_holds_the_current_blast_radius_table():
    assert table() in (ROOT / "docs" / "review.md").read_text(), \
        "docs/review.md differs from the blast radius: paste the output of python -m tools.blast_radius"
