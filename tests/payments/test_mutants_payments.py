"""Rules of nibog/payments/service.py that mutation testing found no test holding
(docs/testing.md, "Mutation testing"): which payments and refunds the periodic sweep asks the
gateway about."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.payments.models import Payment, Refund
from nibog.payments.service import awaiting_refund_ids, stale_refund_ids, stuck_payment_ids
from tests.factories import PaymentFactory
from tests.payments.support import make_booking


def _payment(parent, now, *, minutes_old, checked_minutes_ago=None, failure_reason=None,
             status="created"):
    booking = make_booking(parent)
    payment_id = PaymentFactory(booking=booking, status=status, captured_at=None).id
    db.session.execute(update(Payment).where(Payment.id == payment_id).values(
        created_at=now - timedelta(minutes=minutes_old),
        last_checked_at=None if checked_minutes_ago is None
        else now - timedelta(minutes=checked_minutes_ago),
        failure_reason=failure_reason))
    db.session.commit()
    return payment_id


def test_the_sweep_asks_about_payments_stuck_past_their_time_oldest_first(app, parent,
                                                                          monkeypatch):
    """Unpaid orders older than STUCK_PAYMENT_MINUTES (40 here) not asked about in the last
    quarter of that (10 minutes), oldest first; a wrong-amount capture is left to support."""
    monkeypatch.setitem(app.config, "STUCK_PAYMENT_MINUTES", 40)
    now = utcnow() + timedelta(minutes=7)  # the sweep's clock, not the wall clock
    young = _payment(parent, now, minutes_old=39)
    older = _payment(parent, now, minutes_old=80)
    old = _payment(parent, now, minutes_old=41)
    just_asked = _payment(parent, now, minutes_old=120, checked_minutes_ago=9)
    asked_a_while_ago = _payment(parent, now, minutes_old=60, checked_minutes_ago=11)
    _payment(parent, now, minutes_old=120, failure_reason="amount_mismatch")
    other_reason = _payment(parent, now, minutes_old=100, failure_reason="gateway timeout")
    _payment(parent, now, minutes_old=120, status="captured")  # settled: nothing to ask
    _payment(parent, now, minutes_old=120, status="failed")
    ids = stuck_payment_ids(now=now)
    assert ids == [other_reason, older, asked_a_while_ago, old]
    assert young not in ids and just_asked not in ids
    assert stuck_payment_ids(now=now, limit=2) == ids[:2]


def _refund(parent, now, *, minutes_old, accepted, status="pending"):
    booking = make_booking(parent, status="confirmed")
    payment = PaymentFactory(booking=booking)
    refund = Refund(payment_id=payment.id, amount=100, status=status,
                    provider_refund_id=f"rfnd_{payment.id}" if accepted else None)
    db.session.add(refund)
    db.session.flush()
    db.session.execute(update(Refund).where(Refund.id == refund.id).values(
        created_at=now - timedelta(minutes=minutes_old)))
    db.session.commit()
    return refund.id


def test_the_sweep_retries_refunds_never_accepted_and_asks_about_accepted_ones(app, parent):
    """Never accepted by the gateway: tried again after 10 minutes. Accepted but not paid out:
    asked about after 30. Each list in id order, limited."""
    now = utcnow() + timedelta(minutes=7)  # the sweep's clock, not the wall clock
    fresh_unsent = _refund(parent, now, minutes_old=9, accepted=False)
    unsent = _refund(parent, now, minutes_old=11, accepted=False)
    unsent_too = _refund(parent, now, minutes_old=50, accepted=False)
    fresh_accepted = _refund(parent, now, minutes_old=29, accepted=True)
    accepted = _refund(parent, now, minutes_old=31, accepted=True)
    accepted_too = _refund(parent, now, minutes_old=45, accepted=True)
    _refund(parent, now, minutes_old=60, accepted=False, status="failed")
    _refund(parent, now, minutes_old=60, accepted=True, status="processed")
    assert stale_refund_ids(now=now) == [unsent, unsent_too]
    assert stale_refund_ids(now=now, limit=1) == [unsent]
    assert awaiting_refund_ids(now=now) == [accepted, accepted_too]
    assert awaiting_refund_ids(now=now, limit=1) == [accepted]
    assert fresh_unsent not in stale_refund_ids(now=now) + awaiting_refund_ids(now=now)
    assert fresh_accepted not in stale_refund_ids(now=now) + awaiting_refund_ids(now=now)


def test_the_sweep_counts_its_windows_to_the_microsecond(app, parent, monkeypatch):
    """An order exactly STUCK_PAYMENT_MINUTES old is not stuck yet, one asked about exactly a
    quarter of that ago is not asked again yet; a refund exactly 10 (never accepted) or 30
    (accepted) minutes old is not retried or asked about yet."""
    monkeypatch.setitem(app.config, "STUCK_PAYMENT_MINUTES", 40)
    now = utcnow() + timedelta(minutes=7)
    _payment(parent, now, minutes_old=40)
    _payment(parent, now, minutes_old=60, checked_minutes_ago=10)
    assert stuck_payment_ids(now=now) == []
    _refund(parent, now, minutes_old=10, accepted=False)
    _refund(parent, now, minutes_old=30, accepted=True)
    assert stale_refund_ids(now=now) == []
    assert awaiting_refund_ids(now=now) == []


@pytest.mark.parametrize("stuck_minutes, asked_minutes_ago", [(3, 1.5), (6, 1.25)])
def test_a_short_stuck_time_waits_whole_minutes_between_questions(app, parent, monkeypatch,
                                                                   stuck_minutes,
                                                                   asked_minutes_ago):
    """STUCK_PAYMENT_MINUTES=3: a quarter of it is under a minute, so the sweep waits one
    minute before asking about the same order again; 6: a quarter is 1.5 minutes, counted as
    one whole minute."""
    monkeypatch.setitem(app.config, "STUCK_PAYMENT_MINUTES", stuck_minutes)
    now = utcnow() + timedelta(minutes=7)
    _payment(parent, now, minutes_old=10, checked_minutes_ago=0.5)
    asked_before = _payment(parent, now, minutes_old=10, checked_minutes_ago=asked_minutes_ago)
    assert stuck_payment_ids(now=now) == [asked_before]
