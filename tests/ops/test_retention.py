"""Retention jobs: each removes what has outlived its purpose, and nothing else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from nibog.accounts.models import Child, User
from nibog.auth import otp
from nibog.booking.guests import create_guest_booking
from nibog.booking.models import Booking, BookingItem, IdempotencyKey
from nibog.core import boundary
from nibog.core.housekeeping import purge_expired
from nibog.core.models import OutboxJob
from nibog.core.outbox import purge_relayed_outbox
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.ops.retention import purge_abandoned_guests, purge_old_notifications
from nibog.tasks import PERIODIC_JOBS
from tests.booking.world import make_world
from tests.factories import birth_date_for_age


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_retention_jobs_are_scheduled_daily():
    scheduled = {job.path: job.seconds for job in PERIODIC_JOBS}
    for path in ("nibog.ops.retention.purge_old_notifications",
                 "nibog.ops.retention.purge_abandoned_guests",
                 "nibog.core.outbox.purge_relayed_outbox"):
        assert scheduled[path] == 24 * 3600
    assert scheduled["nibog.core.housekeeping.purge_expired"] == 3600


def test_old_message_logs_go_recent_ones_stay(app):
    for days in (400, 181, 10):
        db.session.add(NotificationLog(channel="email", template="booking_held",
                                       recipient="a@example.com", status="sent",
                                       created_at=utcnow() - timedelta(days=days)))
    db.session.commit()
    assert purge_old_notifications() == 2
    assert [n.created_at > utcnow() - timedelta(days=11) for n in
            db.session.scalars(select(NotificationLog))] == [True]


def test_relayed_outbox_rows_go_after_a_week_pending_ones_never(app):
    old = utcnow() - timedelta(days=8)
    db.session.add_all([
        OutboxJob(queue="default", func="a.b", relayed_at=old, created_at=old),
        OutboxJob(queue="default", func="a.b", relayed_at=utcnow(), created_at=utcnow()),
        OutboxJob(queue="default", func="a.b", relayed_at=None, created_at=old),
    ])
    db.session.commit()
    assert purge_relayed_outbox() == 1
    assert _count(OutboxJob) == 2
    assert _count(OutboxJob, OutboxJob.relayed_at.is_(None)) == 1


def test_expired_idempotency_keys_and_memory_otps(app):
    db.session.add_all([
        IdempotencyKey(key="old", scope="booking", endpoint="b", request_hash="x",
                       expires_at=utcnow() - timedelta(minutes=1)),
        IdempotencyKey(key="new", scope="booking", endpoint="b", request_hash="y",
                       expires_at=utcnow() + timedelta(hours=1)),
    ])
    db.session.commit()
    otp._memory_store.put_code("otp:old", "digest", ttl=-1)
    otp._memory_store.put_code("otp:new", "digest", ttl=600)
    try:
        counts = purge_expired()
        assert counts["idempotency_keys"] == 1 and counts["otps"] == 1
        assert [k.key for k in db.session.scalars(select(IdempotencyKey))] == ["new"]
        assert otp._memory_store.count_attempt("otp:new") is not None
    finally:
        otp._memory_store.delete("otp:new")


def _guest_booking(w, email, child_name="Kabir"):
    booking, _code = create_guest_booking(
        guest={"email": email, "full_name": "Guest Parent", "phone": "+919811111111"},
        children=[{"full_name": child_name, "date_of_birth": birth_date_for_age(24, w.event.event_date)}],
        event_id=w.event.id, items=[{"child_index": 0, "slot_id": w.slots[0].id}],
        addons=[], promo_code=None,
    )
    boundary.commit()
    return booking


def _age(days: int, *models) -> None:
    then = utcnow() - timedelta(days=days)
    for model in models:
        db.session.execute(update(model).values(created_at=then))
    db.session.commit()


def test_abandoned_guest_placeholders_are_forgotten_bookings_kept(app):
    w = make_world(capacity=5)
    abandoned = _guest_booking(w, "gone@example.com")
    db.session.execute(update(Booking).where(Booking.id == abandoned.id).values(status="expired"))
    db.session.commit()
    _age(120, User, Child, Booking)
    paid = _guest_booking(w, "paid@example.com", "Anya")  # recent: kept whatever its status
    db.session.execute(update(Booking).where(Booking.id == paid.id).values(status="confirmed"))
    db.session.commit()
    placeholders = _count(User, User.email.is_(None), User.deleted_at.is_(None))
    assert placeholders == 2

    assert purge_abandoned_guests() == 1
    db.session.expire_all()
    kept = db.session.get(Booking, abandoned.id)
    assert kept.status == "expired" and kept.total > 0  # the accounting record stays
    assert kept.guest_name is None and kept.guest_phone is None
    assert kept.guest_email.endswith("@invalid") and "gone" not in kept.guest_email
    assert db.session.scalar(
        select(Child.full_name).join(BookingItem, BookingItem.child_id == Child.id)
        .where(BookingItem.booking_id == abandoned.id)
    ) == "Deleted child"
    assert _count(User, User.email.is_(None), User.deleted_at.is_(None)) == 1
    still = db.session.get(Booking, paid.id)
    assert still.guest_email == "paid@example.com" and still.guest_name == "Guest Parent"
    assert purge_abandoned_guests() == 0  # done once


def test_a_live_guest_booking_keeps_its_placeholder_however_old(app):
    w = make_world(capacity=5)
    booking = _guest_booking(w, "loyal@example.com")
    db.session.execute(update(Booking).where(Booking.id == booking.id).values(status="confirmed"))
    db.session.commit()
    _age(400, User, Child, Booking)
    assert purge_abandoned_guests() == 0
    assert db.session.get(Booking, booking.id).guest_email == "loyal@example.com"


def test_a_placeholder_whose_bookings_moved_to_an_account_is_deleted(app):
    from nibog.booking.guests import attach_guest_bookings
    from tests.factories import UserFactory

    w = make_world(capacity=5)
    booking = _guest_booking(w, "joined@example.com")
    real = UserFactory(email="joined@example.com")
    assert attach_guest_bookings(real) == 1
    db.session.commit()
    _age(120, User)
    assert purge_abandoned_guests() == 1
    assert _count(User) == 2  # the world's parent and the real account
    assert db.session.get(Booking, booking.id).user_id == real.id


def test_a_deleted_account_leaves_no_address_in_the_message_log(app):
    from nibog.accounts.service import deactivate_and_anonymise
    from tests.factories import UserFactory

    user, other = UserFactory(email="leaving@example.com"), UserFactory(email="stay@example.com")
    db.session.add_all([
        NotificationLog(channel="email", template="booking_held", recipient="leaving@example.com",
                        status="sent", user_id=user.id),
        NotificationLog(channel="sms", template="otp", recipient="+919822222222",
                        status="sent", user_id=user.id),
        NotificationLog(channel="email", template="booking_held", recipient="stay@example.com",
                        status="sent", user_id=other.id),
    ])
    db.session.commit()
    deactivate_and_anonymise(user)
    boundary.commit()
    recipients = sorted(db.session.scalars(select(NotificationLog.recipient)))
    assert recipients == ["[deleted]", "[deleted]", "stay@example.com"]
