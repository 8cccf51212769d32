"""Who may play which game: age in whole months on the event date, and the registration window."""

from __future__ import annotations

from datetime import datetime

from nibog.catalog.models import Event, EventGame, GameTemplate
from nibog.core.errors import AppError
from nibog.core.timeutil import age_in_months, as_utc, isoformat_ist, local_to_utc


def age_band(event_game: EventGame, template: GameTemplate) -> tuple[int, int]:
    """The event's override wins over the template's band, bound by bound."""
    low = event_game.min_age_months
    high = event_game.max_age_months
    return (
        template.min_age_months if low is None else low,
        template.max_age_months if high is None else high,
    )


def ineligibility(child, event: Event, event_game: EventGame, template: GameTemplate) -> dict | None:
    """None when the child may play, else the facts a parent needs to understand why not."""
    months = age_in_months(child.date_of_birth, event.event_date)
    low, high = age_band(event_game, template)
    if low <= months <= high:
        return None
    return {
        "child_id": child.id,
        "game_name": template.name,
        "age_months_on_event_date": months,
        "min_age_months": low,
        "max_age_months": high,
    }


def event_start_utc(event: Event) -> datetime:
    return local_to_utc(event.event_date, event.start_time)


def ensure_registration_open(event: Event, now: datetime, *, walk_in: bool = False) -> None:
    """422 registration_closed unless the event takes bookings now.

    ``walk_in`` (the admin booking at the venue desk) ignores the window but never a draft,
    cancelled or finished event.
    """
    if event.status != "published":
        raise AppError(
            "registration_closed", "This event is not open for booking", 422,
            {"event_status": event.status},
        )
    end_of_event = local_to_utc(event.event_date, event.end_time)
    if now >= end_of_event:
        raise AppError("registration_closed", "This event is over", 422)
    if walk_in:
        return
    opens = as_utc(event.registration_opens_at)
    closes = as_utc(event.registration_closes_at)
    if opens is not None and now < opens:
        raise AppError(
            "registration_closed", "Registration has not opened yet", 422,
            {"registration_opens_at": isoformat_ist(opens)},
        )
    # Without an explicit close, online registration ends when the event starts.
    if (closes is not None and now > closes) or now >= event_start_utc(event):
        raise AppError("registration_closed", "Registration for this event has closed", 422)


def check_eligible(child, event_game: EventGame, event: Event) -> None:
    """Raise ``child_not_eligible`` when the child is outside the game's age range that day."""
    reason = ineligibility(child, event, event_game, event_game.template)
    if reason is not None:
        raise AppError(
            "child_not_eligible",
            f"{child.full_name} is not in this game's age range on the event date",
            422,
            reason,
        )
