"""One booking's row lock and its guest access code: the part of the booking feature that
payments and documents build on. It imports only the booking models and the core, so the layers
above the booking models (payments below the booking engine) can use it without a cycle.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from nibog.booking.models import Booking
from nibog.core import locking
from nibog.core.errors import NotFound
from nibog.extensions import db

# The bookings this session's transaction has locked: {"tx": root transaction, "rows": {id:
# booking}}. A capture locks its booking, then the booking engine's confirmation (a signal
# receiver, a layer above) locks it again: the second SELECT ... FOR UPDATE would only read
# back the row this transaction already holds (its changes go through this same object). Any
# rollback forgets them all (rolling back to a savepoint releases the row locks taken after
# it); the commit forgets them too.
_HELD = "nibog.booking_locks"


def held_booking(booking_id: int) -> Booking | None:
    """The booking if this session's transaction holds its row lock (current: every change
    since went through this object), else None."""
    session = db.session()
    held = session.info.get(_HELD)
    tx = session.get_transaction()
    if held is None or tx is None or held["tx"] is not tx:
        return None
    return held["rows"].get(booking_id)


def lock_booking(booking_id: int) -> Booking:
    booking = held_booking(booking_id)
    if booking is not None:
        locking.pause("booking_read")
        return booking
    booking = db.session.scalar(
        locking.for_update(select(Booking).where(Booking.id == booking_id), "booking_lock")
        .execution_options(populate_existing=True, prepare=True)
    )
    if booking is None:
        raise NotFound("Booking")
    if locking.guards.booking_lock:
        session = db.session()
        tx = session.get_transaction()
        held = session.info.get(_HELD)
        if held is None or held["tx"] is not tx:
            held = session.info[_HELD] = {"tx": tx, "rows": {}}
        held["rows"][booking_id] = booking
    locking.pause("booking_read")
    return booking


@event.listens_for(Session, "after_soft_rollback")
def _forget_locks_on_rollback(session, previous_transaction) -> None:
    session.info.pop(_HELD, None)


@event.listens_for(Session, "after_commit")
def _forget_locks_on_commit(session) -> None:
    if session.get_nested_transaction() is None:  # not a savepoint's release: locks are kept
        session.info.pop(_HELD, None)


def hash_access_code(code: str) -> str:
    # A random 10-character code has ~49 bits; a plain digest is enough (no password reuse).
    return hashlib.sha256(code.encode()).hexdigest()


def access_code_matches(booking: Booking, access_code: str | None) -> bool:
    """The one-time code given at booking time, compared in constant time - or a signed link
    the platform sent the guest for this booking (``guest_link_token``), still in date."""
    if not access_code or not booking.access_code_hash:
        return False
    if is_link_token(access_code):
        return guest_link_state(booking, access_code) == "valid"
    return hmac.compare_digest(booking.access_code_hash, hash_access_code(access_code.strip().upper()))


# Guest links: a guest's e-mails and SMS cannot carry the access code (only its hash is kept),
# and a link to the lookup form would make them type it. Each link carries instead a signed,
# dated stamp of the booking, keyed by the site's secret and the code's hash - so it stands for
# the code until it expires, and dies with the code (retention clears it). Only the time and
# the signature travel (about 34 characters: SMS are short); the booking id is in the address.
LINK_SALT = "nibog.guest-booking-link"


def _link_signer(booking: Booking) -> TimestampSigner:
    return TimestampSigner(current_app.secret_key, salt=f"{LINK_SALT}:{booking.access_code_hash}")


def is_link_token(value: str | None) -> bool:
    # Access codes are letters and digits only; a stamp is "<time>.<signature>".
    return bool(value) and "." in value


def guest_link_token(booking: Booking) -> str | None:
    """The stamp a guest link carries, or None (an account's booking, or no code to stand for)."""
    if booking.user_id is not None or not booking.access_code_hash:
        return None
    signed = _link_signer(booking).sign(str(booking.id)).decode()
    return signed.split(".", 1)[1]


def guest_link_state(booking: Booking, token: str | None) -> str:
    """"valid", "expired" (genuine but older than GUEST_LINK_MAX_AGE_DAYS) or "invalid"."""
    if (not token or not is_link_token(token) or booking.user_id is not None
            or not booking.access_code_hash):
        return "invalid"
    max_age = current_app.config["GUEST_LINK_MAX_AGE_DAYS"] * 86400
    try:
        _link_signer(booking).unsign(f"{booking.id}.{token.strip()}", max_age=max_age)
    except SignatureExpired:
        return "expired"
    except BadSignature:
        return "invalid"
    return "valid"
