"""Fixtures for the parent site's request-level tests."""

from __future__ import annotations

import contextvars
import re
from datetime import time, timedelta

import pytest
from flask.testing import FlaskClient

from nibog.core.timeutil import today_ist
from tests.auth.support import outbox  # noqa: F401 - a fixture, used by the tests here
from tests.booking.world import add_variant, make_promo
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
    birth_date_for_age,
)

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')


class SiteWorld:
    """An event with a toddlers' game (12-48 months, two slots) and a big kids' game
    (49-84 months, one slot), a T-shirt with sizes, a promo code, and a parent with two
    toddlers."""

    def __init__(self):
        self.event = EventFactory(event_date=today_ist() + timedelta(days=30),
                                  title="Hyderabad Baby Olympics", slug="hyderabad-baby-olympics")
        toddler = GameTemplateFactory(name="Baby Crawling", min_age_months=12, max_age_months=48,
                                      default_price=79900)
        big = GameTemplateFactory(name="Running Race", min_age_months=49, max_age_months=84,
                                  default_price=99900)
        self.crawl = EventGameFactory(event=self.event, template=toddler)
        self.race = EventGameFactory(event=self.event, template=big)
        self.crawl_slots = [
            GameSlotFactory(event_game=self.crawl, capacity=5, start_time=time(10 + i, 0),
                            end_time=time(10 + i, 30))
            for i in range(2)
        ]
        self.race_slot = GameSlotFactory(event_game=self.race, capacity=5,
                                         start_time=time(13, 0), end_time=time(13, 30))
        self.variant = add_variant(self.event, price=29900, name="T-shirt")
        self.addon = self.variant.addon
        self.promo = make_promo("EARLY10", value=10)
        self.parent = UserFactory(full_name="Asha Rao")
        birth = birth_date_for_age(24, self.event.event_date)
        self.kids = [ChildFactory(parent=self.parent, full_name=name, date_of_birth=birth)
                     for name in ("Aarav", "Diya")]


@pytest.fixture
def world(db):
    return SiteWorld()


@pytest.fixture
def csrf_on(app, monkeypatch):
    """CSRF checks as in production (the test config switches them off)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def csrf_token(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no csrf_token on {url}"
    return match.group(1) or match.group(2)


class OwnContextClient(FlaskClient):
    """Each request in a context of its own, as on a real server.

    The suite keeps an app context pushed for the whole test (factories need it); Flask reuses
    it for the test client's requests, so ``g`` - where Flask-Babel keeps the language and
    Flask-Login the signed-in user - would carry over from one request (and one browser) to the
    next. Run in an empty ``contextvars`` context, each request pushes its own.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(autouse=True)
def _own_context_per_request(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", OwnContextClient)
