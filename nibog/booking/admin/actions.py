"""Admin status changes that add a rule on top of the engine's lifecycle functions."""

from __future__ import annotations

from sqlalchemy import select

from nibog.accounts.children import add_child, get_child, validate_birth_date
from nibog.accounts.models import User
from nibog.booking.admin.queries import require_parent
from nibog.booking.guests import create_guest_booking
from nibog.booking.lifecycle import cancel_booking, lock_booking, refund_amount_for
from nibog.booking.models import CONFIRMED_BOOKING_STATUSES, Booking, BookingItem, BookingStatus
from nibog.booking.moves import move_item
from nibog.booking.service import confirm_booking, create_booking
from nibog.catalog.models import Event
from nibog.core.audit import record, snapshot
from nibog.core.errors import Conflict, NotFound, ValidationFailed
from nibog.core.money import format_inr
from nibog.core.timeutil import isoformat_ist, today_ist, utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import queue_email, queue_sms
from nibog.payments.history import booking_contact
from nibog.payments.models import Payment
from nibog.payments.refunds import REFUNDABLE_STATUSES, at_most_refundable


def confirm_offline(booking_id: int, *, source: str = "admin") -> Booking:
    """The admin marks a booking paid (cash at the desk, bank transfer...).

    Without a captured online payment the money came in outside the gateway, so the booking is
    recorded as cash: the dashboard then counts it as revenue, and a later cancellation does not
    ask the gateway for a refund it never took.
    """
    # Locked before its payments are read: a capture in flight either committed already (and
    # is seen here) or waits, then finds the booking paid and refunds itself.
    booking = lock_booking(booking_id)
    if booking.status in (BookingStatus.PENDING_PAYMENT, BookingStatus.EXPIRED):
        # Money still held online: a late payment already refunded in full does not count.
        paid_online = db.session.scalar(
            select(Payment.id).where(
                Payment.booking_id == booking_id, Payment.status.in_(REFUNDABLE_STATUSES)
            )
        )
        if paid_online is None:
            booking.payment_mode = "cash"
    return confirm_booking(booking_id, source=source)


def complete_single(booking_id: int) -> Booking:
    """The admin marks one confirmed booking completed (``complete_event`` does a whole event).

    Completed means the event took place for this child - it unlocks the participation
    certificate - so it is refused before the event's date. Completing a completed booking
    changes nothing.
    """
    booking = lock_booking(booking_id)
    if booking.status == BookingStatus.COMPLETED:
        return booking
    if booking.status != BookingStatus.CONFIRMED:
        raise Conflict(
            "booking_not_completable",
            f"Only a confirmed booking can be completed; this one is {booking.status}",
            {"status": booking.status},
        )
    event_date = db.session.scalar(select(Event.event_date).where(Event.id == booking.event_id))
    if event_date > today_ist():
        raise Conflict(
            "event_not_held_yet",
            "A booking can be completed on or after its event's date",
            {"event_date": event_date.isoformat()},
        )
    booking.status = BookingStatus.COMPLETED
    booking.completed_at = utcnow()
    db.session.flush()
    return booking


# ---------------------------------------------------------------- the dashboard's sales desk

PAYMENT_CHOICES = ("cash", "link")
LINK_CHANNELS = ("email", "sms")


def manual_booking(
    *,
    actor_id: int,
    event_id: int,
    slot_ids: list[int],
    payment: str,
    user_id: int | None = None,
    child_id: int | None = None,
    new_child: dict | None = None,
    guest: dict | None = None,
    send_by: tuple[str, ...] | list[str] = ("email",),
    promo_code: str | None = None,
    client_ip: str | None = None,
) -> tuple[Booking, str | None]:
    """A booking staff take for a parent at the desk (walk-in) or on the phone.

    The parent is an account (``user_id``, with one of its children or a new one) or a walk-in
    without one (``guest``: full_name, email, phone; and ``new_child``). One child, one or more
    slots of the event - through the booking engine, so capacity, eligibility, the waiting
    list's claim on freed seats and promo limits are those of any booking, except that the
    registration window does not close the desk. ``payment``: "cash" (taken now: confirmed at
    once) or "link" (seats held for PAYMENT_LINK_HOLD_SECONDS and a payment link sent by
    ``send_by``). Returns the booking and, for a walk-in, the access code that lets them pay
    and manage it (shown once to staff).
    """
    if payment not in PAYMENT_CHOICES:
        raise ValidationFailed({"payment": ["Choose cash or a payment link"]})
    channels = [c for c in LINK_CHANNELS if c in (send_by or ())]
    if payment == "link" and not channels:
        raise ValidationFailed({"send_by": ["Choose how the payment link is sent"]})
    slot_ids = sorted(set(slot_ids or []))
    if not slot_ids:
        raise ValidationFailed({"slot_ids": ["Choose at least one game slot"]})
    mode = "cash" if payment == "cash" else "online"
    code = None
    if user_id is not None:
        parent = require_parent(user_id)
        if child_id is not None:
            child = get_child(parent, child_id)
        elif new_child:
            child = add_child(parent, new_child)
        else:
            raise ValidationFailed({"child_id": ["Choose a child or add one"]})
        booking = create_booking(
            user_id=parent.id,
            event_id=event_id,
            items=[{"child_id": child.id, "slot_id": s} for s in slot_ids],
            addons=[],
            promo_code=promo_code,
            source="admin",
            created_by_id=actor_id,
            payment_mode=mode,
        )
        phone = parent.phone
    else:
        if not guest or not new_child:
            raise ValidationFailed({"guest": ["Find the parent's account, or enter a walk-in parent and child"]})
        validate_birth_date(new_child["date_of_birth"])
        if "sms" in channels and not guest.get("phone"):
            raise ValidationFailed({"phone": ["A phone number is needed to send an SMS"]})
        booking, code = create_guest_booking(
            guest=guest,
            children=[new_child],
            event_id=event_id,
            items=[{"child_index": 0, "slot_id": s} for s in slot_ids],
            addons=[],
            promo_code=promo_code,
            source="admin",
            payment_mode=mode,
        )
        booking.created_by_id = actor_id
        phone = guest.get("phone")
    if booking.status == BookingStatus.PENDING_PAYMENT:
        _send_payment_link(booking, channels, phone=phone, access_code=code)
    db.session.flush()
    record("booking.admin_create", booking, actor_id=actor_id, client_ip=client_ip,
           after={"booking_number": booking.booking_number, "status": booking.status,
                  "payment": payment, "send_by": channels, "total": booking.total})
    return booking, code


def _send_payment_link(booking: Booking, channels: list[str], *, phone: str | None,
                       access_code: str | None) -> None:
    """The hold is stretched for a parent who is not at a checkout, and the link goes by the
    channels staff chose, replacing the engine's own "complete your payment" e-mail."""
    from datetime import timedelta

    from flask import current_app
    from sqlalchemy import update


    booking.hold_expires_at = utcnow() + timedelta(
        seconds=current_app.config["PAYMENT_LINK_HOLD_SECONDS"]
    )
    db.session.execute(
        update(NotificationLog)
        .where(NotificationLog.booking_id == booking.id,
               NotificationLog.template == "booking_held", NotificationLog.status == "queued")
        .values(status="suppressed", error="superseded by the payment link staff sent")
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    context = booking.message_context(hold_expires_at=isoformat_ist(booking.hold_expires_at))
    if access_code:
        # A walk-in has no account to sign in with: the link carries their one-time code
        # (dropped from the stored message once it is sent, like every secret).
        context["access_code"] = access_code
        context["pay_url"] = f"{base}/book/{booking.id}/pay?code={access_code}"
    email, user_id = _contact(booking)
    if "email" in channels and email:
        queue_email("booking_held", email, context, user_id=user_id, booking_id=booking.id)
    if "sms" in channels and phone:
        queue_sms("booking_held", phone, context, user_id=user_id, booking_id=booking.id)


def _contact(booking: Booking) -> tuple[str | None, int | None]:
    """(address, user id) its messages go to: the account's, else the guest's."""
    _, email = booking_contact(booking.id)
    return email, booking.user_id




def resend_ticket(
    booking_id: int, *, actor_id: int, channels: tuple[str, ...] | list[str] = ("email",),
    client_ip: str | None = None,
) -> list:
    """Send the booking's confirmation with its ticket again (e-mail carries the PDF, SMS the
    summary). Only a confirmed or completed booking has a valid ticket."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Booking")
    if booking.status not in CONFIRMED_BOOKING_STATUSES:
        raise Conflict(
            "no_ticket",
            f"A {booking.status.replace('_', ' ')} booking has no ticket to send",
            {"status": booking.status},
        )
    channels = [c for c in LINK_CHANNELS if c in (channels or ())]
    if not channels:
        raise ValidationFailed({"channels": ["Choose e-mail, SMS or both"]})
    email, user_id = _contact(booking)
    phone = booking.guest_phone
    if user_id is not None:
        phone = db.session.get(User, user_id).phone or phone
    context = booking.message_context()
    sent = []
    if "email" in channels:
        if not email:
            raise ValidationFailed({"channels": ["This booking has no e-mail address"]})
        sent.append(queue_email("booking_confirmed", email, context, user_id=user_id,
                                booking_id=booking.id))
    if "sms" in channels:
        if not phone:
            raise ValidationFailed({"channels": ["This booking has no phone number"]})
        sent.append(queue_sms("booking_confirmed", phone, context, user_id=user_id,
                              booking_id=booking.id))
    record("booking.resend_ticket", entity_type="bookings", entity_id=booking.id,
           actor_id=actor_id, client_ip=client_ip,
           after={"channels": channels, "message_ids": [m.id for m in sent]})
    return sent


REFUND_CHOICES = ("policy", "override")


def refund_options(booking_id: int) -> dict:
    """What cancelling would give back now: the policy's amount and the most an override may
    give (the booking's price; for an online payment no more than is left unrefunded)."""
    booking = db.session.get(Booking, booking_id)
    event = db.session.get(Event, booking.event_id)
    policy = refund_amount_for(booking, event, now=utcnow(), by_admin=False)
    paid = booking.status in CONFIRMED_BOOKING_STATUSES
    most = at_most_refundable(booking, booking.total) if paid else 0
    return {"policy": min(policy, most), "max": most, "mode": booking.payment_mode}


def cancel_with_refund(
    booking_id: int, *, actor_id: int, reason: str, refund: str = "policy",
    amount: int | None = None, client_ip: str | None = None,
) -> tuple[Booking, int]:
    """Staff cancel a booking: the refund is the policy's (full until REFUND_FULL_BEFORE_HOURS
    before the start, then nothing) or an amount staff decide (``refund="override"``), at
    most the booking's price. Online money goes back through the gateway; a cash booking's
    refund is money to hand back at the desk (the returned amount says how much)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Booking")
    if refund not in REFUND_CHOICES:
        raise ValidationFailed({"refund": ["Choose the policy's refund or an amount"]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": ["Say why the booking is cancelled"]})
    options = refund_options(booking_id)
    if refund == "override":
        if amount is None or not 0 <= amount <= options["max"]:
            raise ValidationFailed(
                {"amount": [f"At most {format_inr(options['max'])} can be refunded"]},
                "Refund out of range",
            )
        asked = amount
    else:
        asked = options["policy"]
    before = snapshot(booking)
    booking, refunded = cancel_booking(booking_id, actor_id=actor_id, reason=reason,
                                       by_admin=True, refund=asked)
    db.session.refresh(booking)
    record("booking.admin_cancel", booking, actor_id=actor_id, before=before,
           client_ip=client_ip,
           after={**snapshot(booking), "refund": refunded, "refund_choice": refund,
                  "reason": reason})
    return booking, refunded


def move_child(
    booking_id: int, item_id: int, slot_id: int, *, actor_id: int, client_ip: str | None = None
):
    """Move one child of a booking to another slot of its event (``moves.move_item``'s rules:
    a free seat, the age band, not checked in), audited."""
    item = db.session.get(BookingItem, item_id)
    before = snapshot(item) if item is not None else None
    moved = move_item(booking_id, item_id, slot_id)
    record("booking.move_item", moved, actor_id=actor_id, before=before, client_ip=client_ip)
    return moved
