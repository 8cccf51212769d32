"""The Hindi catalogue of the parent site is complete and safe to format."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def _names(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def _catalog(lang: str):
    with open(ROOT / "translations" / "site" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh)


def test_every_site_string_has_a_hindi_translation_with_the_same_placeholders():
    untranslated, broken = [], []
    for message in _catalog("hi"):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if not all(strings) or message.fuzzy:
            untranslated.append(ids[0])
            continue
        # A translation naming a placeholder the English does not have crashes the page.
        expected = set().union(*(_names(i) for i in ids))
        if any(not _names(s) <= expected for s in strings):
            broken.append(ids[0])
    assert not untranslated, f"untranslated: {untranslated}"
    assert not broken, f"placeholders differ: {broken}"
