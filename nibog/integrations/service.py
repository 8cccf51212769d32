"""Partner webhooks: signature check, exactly-once processing, bookings through the engine.

A partner sends ``X-Nibog-Partner: <slug>``, ``X-Nibog-Signature: hex(HMAC-SHA256(raw body,
partner.webhook_secret))`` and a delivery id in ``X-Nibog-Event-Id`` (or ``Idempotency-Key``).
Each delivery is recorded in ``webhook_events`` under provider ``partner:<slug>`` together with
the response it got; a repeat of the same id replays that response and changes nothing. The
row is inserted *before* the work, in the same transaction, so a concurrent duplicate delivery
blocks on the unique index until the first commits, then replays its result.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from nibog.booking.admin.actions import confirm_offline
from nibog.booking.guests import create_guest_booking
from nibog.booking.models import Booking
from nibog.booking.serialize import booking_to_dict
from nibog.booking.service import cancel_booking
from nibog.core import boundary, locking
from nibog.core.audit import record
from nibog.core.errors import AppError, Conflict, NotFound
from nibog.core.secrets_compare import constant_time_equal
from nibog.extensions import db
from nibog.integrations.models import Partner
from nibog.payments.models import WebhookEvent


def _unauthorized(message: str) -> AppError:
    return AppError("invalid_signature", message, 401)


def sign(secret: str, raw_body: bytes) -> str:
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def authenticate(slug: str | None, raw_body: bytes, signature: str | None) -> Partner:
    """The signing partner, or 401; an unknown partner looks exactly like a bad signature."""
    partner = None
    if slug:
        partner = db.session.scalar(select(Partner).where(Partner.slug == slug.strip().lower()))
    if partner is None or not partner.is_active or not signature:
        raise _unauthorized("Missing or invalid partner signature")
    if not constant_time_equal(sign(partner.webhook_secret, raw_body), signature.strip().lower()):
        raise _unauthorized("Missing or invalid partner signature")
    return partner


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def process_once(
    partner: Partner,
    event_id: str,
    event_type: str,
    payload: dict,
    handler: Callable[[Partner, dict], dict],
) -> tuple[dict, bool]:
    """Run ``handler`` once per (partner, event id). Returns (response body, replayed?)."""
    provider = f"partner:{partner.slug}"

    def stored() -> WebhookEvent | None:
        return db.session.scalar(
            select(WebhookEvent).where(
                WebhookEvent.provider == provider, WebhookEvent.event_id == event_id
            )
        )

    def replay(row: WebhookEvent) -> tuple[dict, bool]:
        if _canonical(row.payload) != _canonical(payload) or row.event_type != event_type:
            raise Conflict(
                "idempotency_key_reused",
                "This event id was already used with a different body",
                {"event_id": event_id},
            )
        result = json.loads(row.result)
        refused = result.get(_REFUSED) if isinstance(result, dict) else None
        if refused is not None:
            error = refused["body"]["error"]
            raise AppError(error["code"], error["message"], refused["status"], error["details"],
                           headers={"Idempotent-Replayed": "true"})
        return result, True

    row = stored()
    if row is not None:
        return replay(row)
    row = WebhookEvent(provider=provider, event_id=event_id, event_type=event_type, payload=payload)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        # A concurrent delivery of the same event committed first: answer with its result.
        existing = stored()
        if existing is None:  # it rolled back after all; let the partner retry
            raise Conflict("delivery_in_progress", "This event is being processed; retry") from None
        return replay(existing)
    try:
        result = handler(partner, payload)
    except AppError as exc:
        if 400 <= exc.status < 500 and exc.code not in _NOT_FINAL:
            # The refusal is this delivery's answer, replayed like a success (the contract);
            # written once the request's work has rolled back.
            boundary.on_rollback(lambda refusal=exc: _record_refusal(
                provider, event_id, event_type, payload, refusal))
        raise
    row.processed = True
    row.result = json.dumps(result)
    db.session.flush()
    return result, False


# A stored result holding a refusal: {"__refused__": {"status": 409, "body": {"error": ...}}}.
_REFUSED = "__refused__"
# Answers about the delivery rather than the request: a retry must run it again.
_NOT_FINAL = {"idempotency_key_reused", "delivery_in_progress"}


def _record_refusal(provider: str, event_id: str, event_type: str, payload: dict,
                    exc: AppError) -> None:
    body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details or {}}}
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    with db.engine.begin() as conn:
        conn.execute(
            insert(WebhookEvent.__table__)
            .values(provider=provider, event_id=event_id, event_type=event_type,
                    payload=payload, processed=True,
                    result=json.dumps({_REFUSED: {"status": exc.status, "body": body}}))
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        )


# ---------------------------------------------------------------- handlers


def create_partner_booking(partner: Partner, data: dict) -> dict:
    """A booking through the same engine as the app (source "partner")."""
    # One order at a time: a second delivery of it (another event id) waits here and then finds
    # the booking - not the guest engine's already_booked (its customer's e-mail is locked too).
    locking.hold_for_transaction(f"partner-order:{partner.id}:{data['external_ref']}")
    existing = db.session.scalar(
        select(Booking).where(
            Booking.partner_id == partner.id, Booking.external_ref == data["external_ref"]
        )
    )
    if existing is not None:
        raise _ref_exists({"booking_id": existing.id, "booking_number": existing.booking_number})
    booking = _engine_create(partner, data)
    booking.partner_id = partner.id
    booking.external_ref = data["external_ref"]
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Two deliveries of the same order under different event ids, at the same moment:
        # both passed the check above; the unique constraint keeps one. This transaction is
        # aborted (the caller rolls it back, seats included), so the other's id is not read.
        if "external_ref" in str(exc.orig):
            raise _ref_exists({}) from None
        raise
    _audit("partner.booking_create", booking, partner)
    return {"status": "created", "booking": booking_to_dict(booking)}


def _ref_exists(details: dict) -> Conflict:
    return Conflict("external_ref_exists", "A booking with this external_ref already exists",
                    details)


def _engine_create(partner: Partner, data: dict):
    """The guest path of the engine: the customer's children live under a placeholder owner.

    A booking the partner already collected money for is settled outside our gateway, like the
    admin's cash bookings, so it confirms at once and never asks the parent to pay.
    """
    customer = data["customer"]
    booking, _access_code = create_guest_booking(
        guest={
            "full_name": customer["full_name"],
            "email": customer["email"],
            "phone": customer.get("phone"),
        },
        children=data["children"],
        event_id=data["event_id"],
        items=data["items"],
        addons=data.get("addons") or [],
        promo_code=data.get("promo_code"),
        source="partner",
        payment_mode="cash" if data.get("paid") else "online",
    )
    return booking


def update_partner_booking(partner: Partner, data: dict) -> dict:
    """Status changes a partner may make to its own bookings: cancel, or confirm once paid."""
    booking = db.session.scalar(
        select(Booking).where(
            Booking.partner_id == partner.id, Booking.external_ref == data["external_ref"]
        )
    )
    if booking is None:
        raise NotFound("Booking")
    if data["action"] == "cancel":
        _, refund = cancel_booking(
            booking.id, actor_id=None, reason=data.get("reason") or f"cancelled by {partner.slug}"
        )
        result = {"status": "cancelled", "refund": {"amount": refund, "currency": "INR"}}
    else:
        # "Paid" from a partner means the money reached us outside our gateway: recorded as cash
        # like an admin's confirmation, so revenue counts it and a cancellation asks no gateway.

        confirm_offline(booking.id, source="partner")
        result = {"status": "confirmed"}
    db.session.refresh(booking)
    _audit(f"partner.booking_{data['action']}", booking, partner)
    result["booking"] = booking_to_dict(booking)
    return result


def _audit(action: str, booking, partner: Partner) -> None:
    record(
        action,
        booking,
        actor_id=None,
        before=None,
        after={
            "status": booking.status,
            "partner": partner.slug,
            "external_ref": booking.external_ref,
        },
    )
