"""Helpers for the auth and accounts tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from nibog.auth.passwords import hash_password
from tests.factories import UserFactory

PASSWORD = "s3cret-password"


@dataclass
class Outbox:
    """Messages queued through the real notification service (which still runs)."""

    sent: list[tuple[str, str, str, dict]] = field(default_factory=list)

    def of(self, template: str) -> list[tuple[str, dict]]:
        return [(to, ctx) for _ch, tpl, to, ctx in self.sent if tpl == template]

    def last(self, template: str) -> tuple[str, dict]:
        found = self.of(template)
        assert found, f"no {template!r} message queued"
        return found[-1]


@pytest.fixture
def outbox(monkeypatch) -> Outbox:
    # Spies on _queue, the one function every queue_email / queue_sms goes through: callers
    # import queue_email by name at the top of their modules, so a spy on it would miss them.
    from nibog.notifications import service

    box = Outbox()
    real = service._queue

    def spy(channel, template, recipient, context, **kwargs):
        if channel in ("email", "sms"):
            box.sent.append((channel, template, recipient, dict(context or {})))
        return real(channel, template, recipient, context, **kwargs)

    monkeypatch.setattr(service, "_queue", spy)
    return box


def make_user(**kwargs):
    """A user whose password is PASSWORD, hashed with the cheap test parameters."""
    kwargs.setdefault("password_hash", hash_password(PASSWORD))
    return UserFactory(**kwargs)


def login(client, email: str, password: str = PASSWORD, **kwargs):
    return client.post("/api/auth/login", json={"email": email, "password": password}, **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_booking(user, child, *, status="confirmed", event_date=None, total=79900):
    """A booking of ``child`` into a slot of a new event (seat taken unless cancelled/expired);
    returns (booking, slot)."""
    from datetime import timedelta

    from nibog.core.timeutil import today_ist
    from tests.factories import EventFactory, EventGameFactory, GameSlotFactory
    from tests.factories import make_booking as book

    event = EventFactory(event_date=event_date or today_ist() + timedelta(days=10))
    slot = GameSlotFactory(event_game=EventGameFactory(event=event))
    return book(user, [(child, slot)], status=status, price=total), slot
