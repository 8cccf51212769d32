"""One booking's row lock and its guest access code: the part of the booking feature that
payments and documents build on. It imports only the booking models and the core, so the layers
above the booking models (payments below the booking engine) can use it without a cycle.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from nibog.booking.models import Booking
from nibog.core import locking
from nibog.core.errors import NotFound
from nibog.extensions import db


def lock_booking(booking_id: int) -> Booking:
    booking = db.session.scalar(
        locking.for_update(select(Booking).where(Booking.id == booking_id), "booking_lock")
        .execution_options(populate_existing=True)
    )
    if booking is None:
        raise NotFound("Booking")
    locking.pause("booking_read")
    return booking


def hash_access_code(code: str) -> str:
    # A random 10-character code has ~49 bits; a plain digest is enough (no password reuse).
    return hashlib.sha256(code.encode()).hexdigest()


def access_code_matches(booking: Booking, access_code: str | None) -> bool:
    """The one-time code given at booking time, compared in constant time."""
    if not access_code or not booking.access_code_hash:
        return False
    return hmac.compare_digest(booking.access_code_hash, hash_access_code(access_code.strip().upper()))
