"""Booking numbers: human-friendly, unique, not guessable in sequence.

``NIB-26-7K3Q9M``: the year, then six characters drawn at random from an alphabet without the
look-alikes 0/O, 1/I/L (Crockford-style), about 887 million per year. The unique constraint on
``bookings.booking_number`` is the guarantee; the service retries on the rare collision.
"""

from __future__ import annotations

import secrets
from datetime import date

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 6


def new_booking_number(today: date | None = None) -> str:
    year = (today or date.today()).year % 100
    body = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"NIB-{year:02d}-{body}"


def looks_like_booking_number(value: str) -> bool:
    parts = value.upper().split("-")
    return (
        len(parts) == 3
        and parts[0] == "NIB"
        and parts[1].isdigit()
        and len(parts[2]) == LENGTH
        and all(c in ALPHABET for c in parts[2])
    )
