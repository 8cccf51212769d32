"""The dashboard's sales, money, people, messages and reports pages in Hindi: every string of
theirs in the admin catalogue is translated, with the same placeholders as the English."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Where these pages' strings live (the rest of the dashboard's catalogue is another page's).
OURS = ("views/sales", "views/money", "views/people", "views/messages", "views/waitlists",
        "views/content", "views/reports", "views/jobs", "views/audit_log", "views/formkit",
        "admin/sales/", "admin/money/", "admin/people/", "admin/messages/", "admin/waitlists/",
        "admin/content/", "admin/reports/", "admin/jobs/", "admin/audit_log")


def test_our_strings_have_hindi_translations_with_the_same_placeholders():
    with open(ROOT / "translations/admin/hi/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    ours = untranslated = 0
    broken = []
    missing = []
    for message in catalog:
        if not message.id or not any(any(k in f for k in OURS) for f, _ in message.locations):
            continue
        ours += 1
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if not all(strings) or message.fuzzy:
            untranslated += 1
            missing.append(ids[0])
            continue
        expected = set().union(*(set(PLACEHOLDER.findall(i)) for i in ids))
        if any(set(PLACEHOLDER.findall(s)) != expected for s in strings):
            broken.append(ids[0])
    assert ours > 300  # the extraction found these pages
    assert not missing, f"untranslated: {missing}"
    assert not broken, f"placeholders differ: {broken}"
