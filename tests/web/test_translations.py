"""The Hindi catalogues (site and dashboard) are complete, current and safe to format."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
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


# The same extraction as `make extract-messages`: a string added to the code or a template but
# never extracted would show in English on a Hindi page, and the test above cannot see it.
SKIP = ".* ._ tests bench migrations translations static test-artifacts instance"
EXTRACTIONS = {
    "site": ("babel.cfg", SKIP + " admin"),
    "admin": ("babel-admin.cfg", SKIP),
}


@pytest.mark.parametrize("catalogue", sorted(EXTRACTIONS))
def test_the_hindi_catalogue_holds_every_string_the_code_uses(catalogue, tmp_path):
    mapping, ignore = EXTRACTIONS[catalogue]
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).with_name("pybabel")), "-q", "extract", "-F", mapping,
         "-k", "_l", "-k", "lazy_gettext", f"--ignore-dirs={ignore}", "-o", str(pot), "."],
        cwd=ROOT, check=True)
    with open(pot, "rb") as fh:
        used = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with open(ROOT / "translations" / catalogue / "hi" / "LC_MESSAGES" / "messages.po",
              "rb") as fh:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh)
                 if m.id and all(m.string if isinstance(m.string, tuple) else [m.string])}
    missing = sorted(used - known)
    assert not missing, f"not in translations/{catalogue} (run make extract-messages): {missing}"
