"""The signals a lower layer announces and the receivers create_app connects (core/signals.py,
nibog/subscriptions.py)."""

from __future__ import annotations

import pytest

from nibog.core import signals

ALL = (
    signals.seats_freed,
    signals.payment_captured,
    signals.event_ended,
    signals.email_verified,
    signals.account_closed,
    signals.notification_queued,
)


def test_create_app_connects_a_receiver_to_every_signal(app):
    assert all(signal.receivers for signal in ALL)


def test_receivers_run_once_each_in_order_and_answer():
    signal, calls = signals.Signal("test"), []

    def first(value):
        calls.append(("first", value))
        return 1

    def second(value):
        calls.append(("second", value))
        return 2

    signal.connect(first)
    signal.connect(second)
    signal.connect(first)  # a second app connecting again changes nothing
    assert signal.send(7) == [1, 2]
    assert calls == [("first", 7), ("second", 7)]


def test_a_capture_or_a_message_nobody_receives_fails_loudly(monkeypatch):
    monkeypatch.setattr(signals.payment_captured, "receivers", [])
    monkeypatch.setattr(signals.notification_queued, "receivers", [])
    with pytest.raises(RuntimeError):
        signals.announce_payment_captured(1, source="test")
    with pytest.raises(RuntimeError):
        signals.announce_notification_queued(1, {})
