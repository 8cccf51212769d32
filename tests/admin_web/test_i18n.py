"""The dashboard in Hindi: every string of its catalogue translated, placeholders kept."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from tests.factories import EventFactory
from tests.helpers import html

PO = Path(__file__).resolve().parents[2] / "translations/admin/hi/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_dashboard_string_has_a_hindi_translation():
    catalog = read_po(PO.open("rb"), locale="hi")
    untranslated, broken = [], []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            untranslated.append(ids[0])
            continue
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            broken.append(ids[0])
    assert untranslated == [] and broken == []


def test_pages_render_in_hindi(admin_client):
    event = EventFactory(title="Pune Games")
    admin_client.set_cookie("lang", "hi")
    overview = html(admin_client.get("/admin/"))
    assert 'lang="hi"' in overview and "सारांश" in overview and "आज की बुकिंग" in overview
    day = html(admin_client.get(f"/admin/events/{event.id}/day"))
    assert "बुकिंग नंबर" in day and "प्रतिभागी" in day
