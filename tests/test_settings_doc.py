"""The README's configuration reference and "What the settings refuse" are generated from the settings
schema: this fails when they differ (fix: python -m tools.settings_doc)."""
from __future__ import annotations

from components.settings import schema as sc
from tools import settings_doc


def test_readme_matches_the_schema():
    text = settings_doc.README.read_text()
    assert settings_doc.render_readme(text) == text, "run: python -m tools.settings_doc"


def test_every_declared_key_is_in_the_reference():
    reference = settings_doc.reference()
    for key in sc.KEYS:
        if key.type == sc.OBJECT and any(k.parent == key.path for k in sc.KEYS):
            continue  # a map: its members have the rows
        assert key.name + "` |" in reference or key.path in sc.SECTIONS, key.path


def test_a_schema_change_makes_the_check_fail(monkeypatch):
    text = settings_doc.README.read_text()
    monkeypatch.setattr(sc, "KEYS", sc.KEYS + (sc.Key("cluster.new_knob", sc.INT, "A knob.", default=1, low=0, high=9),))
    assert settings_doc.render_readme(text) != text
