"""Signed ticket payloads: check-in verifies them offline, without a database round trip.

Format: ``NIB1.<base64url(json)>.<base64url(hmac-sha256)>``; the JSON carries the booking id and
number, the event id and date, and the item ids the ticket admits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from flask import current_app

from nibog.core.secrets_compare import constant_time_equal

PREFIX = "NIB1"


class InvalidTicket(ValueError):
    pass


def _key() -> bytes:
    # Derived, so the raw SECRET_KEY is never used directly for a second purpose.
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"nibog-ticket-qr", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_ticket(data: dict[str, Any]) -> str:
    body = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    sig = _b64(hmac.new(_key(), f"{PREFIX}.{body}".encode(), hashlib.sha256).digest())
    return f"{PREFIX}.{body}.{sig}"


def verify_ticket(payload: str) -> dict[str, Any]:
    try:
        prefix, body, sig = payload.strip().split(".")
    except ValueError:
        raise InvalidTicket("malformed ticket payload") from None
    if prefix != PREFIX:
        raise InvalidTicket("unknown ticket version")
    expected = _b64(hmac.new(_key(), f"{prefix}.{body}".encode(), hashlib.sha256).digest())
    if not constant_time_equal(expected, sig):
        raise InvalidTicket("ticket signature does not match")
    try:
        return json.loads(_unb64(body))
    except (ValueError, json.JSONDecodeError):
        raise InvalidTicket("malformed ticket payload") from None


def ticket_data(booking, items) -> dict[str, Any]:
    """The payload for a booking's ticket: ``items`` are its live BookingItems."""
    return {
        "b": booking.id,
        "n": booking.booking_number,
        "e": booking.event_id,
        "i": sorted(item.id for item in items),
    }
