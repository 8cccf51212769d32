"""Bookings as the admin, check-in and partner endpoints show them.

The base is the contract's ``booking`` object from ``booking.serialize`` (one shape everywhere);
the admin view adds who booked and how, and per-item attendance and results. A page of bookings
costs a fixed number of queries, not a few per row.
"""

from __future__ import annotations

from sqlalchemy import select

from nibog.accounts.models import User
from nibog.booking.models import Booking, BookingItem
from nibog.booking.serialize import bookings_to_dicts
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db
from nibog.payments.models import Payment, Refund


def admin_booking_dicts(bookings: list[Booking]) -> list[dict]:
    if not bookings:
        return []
    ids = [b.id for b in bookings]
    extras = {
        row.id: row
        for row in db.session.execute(
            select(
                BookingItem.id,
                BookingItem.attendance,
                BookingItem.result_position,
                BookingItem.is_live,
            ).where(BookingItem.booking_id.in_(ids))
        )
    }
    user_ids = {b.user_id for b in bookings if b.user_id}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    out = []
    for booking, data in zip(bookings, bookings_to_dicts(bookings), strict=True):
        for item in data["items"]:
            extra = extras[item["id"]]
            item.update(
                attendance=extra.attendance,
                result_position=extra.result_position,
                is_live=extra.is_live,
            )
        data.update(_admin_fields(booking, users.get(booking.user_id)))
        out.append(data)
    return out


def admin_booking_dict(booking: Booking) -> dict:
    return admin_booking_dicts([booking])[0]


def admin_booking_detail(booking: Booking) -> dict:
    """One booking for the admin's detail page: also its payments and refunds."""
    data = admin_booking_dict(booking)
    payments = list(
        db.session.scalars(
            select(Payment).where(Payment.booking_id == booking.id).order_by(Payment.id)
        )
    )
    refunds: dict[int, list[dict]] = {p.id: [] for p in payments}
    if payments:
        for r in db.session.scalars(
            select(Refund).where(Refund.payment_id.in_(list(refunds))).order_by(Refund.id)
        ):
            refunds[r.payment_id].append(
                {
                    "id": r.id,
                    "amount": r.amount,
                    "status": r.status,
                    "reason": r.reason,
                    "created_at": isoformat_ist(r.created_at),
                }
            )
    data["payments"] = [
        {
            "id": p.id,
            "provider": p.provider,
            "status": p.status,
            "amount": p.amount,
            "amount_refunded": p.amount_refunded,
            "currency": p.currency,
            "method": p.method,
            "captured_at": isoformat_ist(p.captured_at),
            "refunds": refunds[p.id],
        }
        for p in payments
    ]
    return data


def _admin_fields(booking: Booking, user: User | None) -> dict:
    return {
        "source": booking.source,
        "payment_mode": booking.payment_mode,
        "user": (
            {"id": user.id, "full_name": user.full_name, "email": user.email, "phone": user.phone}
            if user
            else None
        ),
        "guest": (
            {
                "full_name": booking.guest_name,
                "email": booking.guest_email,
                "phone": booking.guest_phone,
            }
            if booking.guest_email
            else None
        ),
        "partner_id": booking.partner_id,
        "external_ref": booking.external_ref,
        "confirmed_at": isoformat_ist(booking.confirmed_at),
        "expired_at": isoformat_ist(booking.expired_at),
        "completed_at": isoformat_ist(booking.completed_at),
        "cancel_reason": booking.cancel_reason,
    }
