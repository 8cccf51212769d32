"""A parent's own bookings as their account shows them: the list, and one booking with its
payments, documents, cancellation terms and review.

Reads only, built from the same rules the actions use (``lifecycle.cancellation_terms``,
``reviews.review_state``, ``documents.certificates``), so a page never offers what the action
would then refuse. Another parent's booking is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from nibog.booking.lifecycle import CancellationTerms, cancellation_terms
from nibog.booking.models import BOOKING_STATUSES, Booking
from nibog.booking.serialize import booking_to_dict, bookings_to_dicts
from nibog.catalog.models import Review
from nibog.core.errors import AppError, NotFound
from nibog.core.pagination import paginate
from nibog.documents.booking_view import TICKET_STATUSES, load_booking_view
from nibog.documents.certificates import certificate_items, eligible_children
from nibog.extensions import db
from nibog.payments.models import Payment, Refund
from nibog.reviews import service as reviews

# The booking list's tabs: what a parent looks for first.
UPCOMING = ("pending_payment", "confirmed")


def bookings_query(user_id: int, status: str | None = None):
    """The parent's bookings, newest first; ``status`` one of BOOKING_STATUSES or "upcoming"."""
    stmt = select(Booking).where(Booking.user_id == user_id)
    if status == "upcoming":
        stmt = stmt.where(Booking.status.in_(UPCOMING))
    elif status in BOOKING_STATUSES:
        stmt = stmt.where(Booking.status == status)
    return stmt.order_by(Booking.created_at.desc(), Booking.id.desc())


def bookings_page(user_id: int, page: int, per_page: int, status: str | None = None) -> dict:
    return paginate(bookings_query(user_id, status), page, per_page, bookings_to_dicts)


def own_booking(booking_id: int, user_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.user_id != user_id:
        raise NotFound("Booking")
    return booking


@dataclass
class BookingOverview:
    booking: dict[str, Any]  # the contract's booking object (items, add-ons, totals, event)
    payments: list[dict[str, Any]]
    terms: CancellationTerms
    ticket_ready: bool
    certificates: list[dict[str, Any]]  # [{child_id, child_name}] ready to download
    certificate_note: str | None  # why there are none yet (English; pages translate by code)
    certificate_code: str | None
    review: Review | None
    review_refusal: AppError | None
    hold_expires_at: datetime | None


def booking_overview(booking_id: int, user_id: int) -> BookingOverview:
    booking = own_booking(booking_id, user_id)
    view = load_booking_view(booking.id)
    ready = eligible_children(view)
    names = {i["child_id"]: i["child_name"] for i in view["live_items"]}
    note = code = None
    if not ready and view["live_items"]:
        try:
            certificate_items(view, view["live_items"][0]["child_id"])
        except AppError as exc:
            note, code = exc.message, _certificate_code(exc)
    review, refusal = reviews.review_state(booking, user_id)
    return BookingOverview(
        booking=booking_to_dict(booking),
        payments=payments_of(booking.id),
        terms=cancellation_terms(booking),
        ticket_ready=booking.status in TICKET_STATUSES,
        certificates=[{"child_id": c, "child_name": names[c]} for c in ready],
        certificate_note=note,
        certificate_code=code,
        review=review,
        review_refusal=refusal,
        hold_expires_at=booking.hold_expires_at if booking.status == "pending_payment" else None,
    )


def _certificate_code(exc: AppError) -> str:
    return (exc.details or {}).get("reason") or exc.code


def payments_of(booking_id: int) -> list[dict[str, Any]]:
    """The booking's payments with their refunds, oldest first (what a parent paid and got
    back; no gateway internals)."""
    payments = list(db.session.scalars(
        select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.id)))
    refunds: dict[int, list[dict]] = {p.id: [] for p in payments}
    if payments:
        for r in db.session.scalars(
            select(Refund).where(Refund.payment_id.in_(list(refunds))).order_by(Refund.id)
        ):
            refunds[r.payment_id].append(
                {"amount": r.amount, "status": r.status, "created_at": r.created_at,
                 "processed_at": r.processed_at})
    return [
        {"id": p.id, "amount": p.amount, "status": p.status, "method": p.method,
         "created_at": p.created_at, "captured_at": p.captured_at, "refunds": refunds[p.id]}
        for p in payments
    ]
