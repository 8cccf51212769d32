"""Promo codes: the rules (window, scope, minimum, cap) and the counted uses.

A use is counted while a booking holding the code is live (held, confirmed or completed):
``used_count`` moves with the booking's seats, under the promo row's lock, so ``max_uses`` holds
under concurrency. The database CHECK (used_count <= max_uses) is the last line of defence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from nibog.booking.models import (
    LIVE_BOOKING_STATUSES,
    Booking,
    PromoCode,
    promo_code_events,
    promo_code_games,
)
from nibog.core import locking
from nibog.core.errors import AppError
from nibog.core.money import percent_of
from nibog.core.timeutil import as_utc
from nibog.extensions import db


@dataclass
class PricedLine:
    """What the promo rules need from a booked game: its template and its server-side price."""

    game_template_id: int
    price: int


def normalise_code(code: str | None) -> str | None:
    code = (code or "").strip().upper()
    return code or None


def find_promo(code: str) -> PromoCode:
    promo = db.session.scalar(select(PromoCode).where(PromoCode.code == normalise_code(code)))
    if promo is None:
        raise AppError("promo_invalid", "This promo code does not exist", 422, {"promo_code": code})
    return promo


def _invalid(message: str, reason: str) -> AppError:
    return AppError("promo_invalid", message, 422, {"reason": reason})


def compute_discount(
    promo: PromoCode, *, event_id: int, lines: list[PricedLine], addons_total: int, now: datetime
) -> int:
    """The discount in paise, or 422 promo_invalid. Reads no counters: safe for previews."""
    if not promo.is_active:
        raise _invalid("This promo code is no longer active", "inactive")
    valid_from, valid_until = as_utc(promo.valid_from), as_utc(promo.valid_until)
    if valid_from is not None and now < valid_from:
        raise _invalid("This promo code is not valid yet", "not_started")
    if valid_until is not None and now > valid_until:
        raise _invalid("This promo code has expired", "expired")
    event_ids = set(
        db.session.scalars(
            select(promo_code_events.c.event_id).where(promo_code_events.c.promo_code_id == promo.id)
        )
    )
    if event_ids and event_id not in event_ids:
        raise _invalid("This promo code is not valid for this event", "event_scope")
    subtotal = sum(line.price for line in lines) + addons_total
    if promo.min_total is not None and subtotal < promo.min_total:
        raise AppError(
            "promo_invalid",
            "The booking total is below this promo code's minimum",
            422,
            {"reason": "min_total", "min_total": promo.min_total},
        )
    game_ids = set(
        db.session.scalars(
            select(promo_code_games.c.game_template_id).where(
                promo_code_games.c.promo_code_id == promo.id
            )
        )
    )
    if game_ids:
        # A game-scoped code discounts only the games it names (not add-ons).
        base = sum(line.price for line in lines if line.game_template_id in game_ids)
        if not any(line.game_template_id in game_ids for line in lines):
            raise _invalid("This promo code is not valid for these games", "game_scope")
    else:
        base = subtotal
    if promo.kind == "percent":
        discount = percent_of(base, promo.value)
    else:
        discount = promo.value
    if promo.max_discount is not None:
        discount = min(discount, promo.max_discount)
    return max(0, min(discount, base))


def live_uses_by(promo_id: int, *, user_id: int | None, guest_email: str | None) -> int:
    owner = (
        Booking.user_id == user_id if user_id is not None else Booking.guest_email == guest_email
    )
    return db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.promo_code_id == promo_id,
            Booking.status.in_(LIVE_BOOKING_STATUSES),
            owner,
        )
    ) or 0


def ensure_uses_left(promo: PromoCode, *, user_id: int | None, guest_email: str | None) -> None:
    if promo.max_uses is not None and promo.used_count >= promo.max_uses:
        raise AppError(
            "promo_exhausted", "This promo code has been used up", 409, {"reason": "max_uses"}
        )
    if promo.per_user_limit is not None and (user_id is not None or guest_email):
        if live_uses_by(promo.id, user_id=user_id, guest_email=guest_email) >= promo.per_user_limit:
            raise AppError(
                "promo_exhausted",
                "You have already used this promo code as often as allowed",
                409,
                {"reason": "per_user_limit"},
            )


def take_use(promo_id: int, *, user_id: int | None, guest_email: str | None) -> PromoCode:
    """Lock the code, check its counters, count one use. Call after the slot locks (lock order)."""
    promo = locking.lock_one(PromoCode, promo_id)
    # The per-user count runs under the promo lock too, so two parallel bookings of one parent
    # cannot both pass a limit of one.
    ensure_uses_left(promo, user_id=user_id, guest_email=guest_email)
    locking.pause("promo_read")
    promo.used_count += 1
    return promo


def give_back_uses(promo_id: int, uses: int = 1) -> None:
    """Uncount uses of released bookings. Call after the slot locks (lock order)."""
    promo = locking.lock_one(PromoCode, promo_id)
    promo.used_count = max(0, promo.used_count - uses)
