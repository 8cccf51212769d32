"""Catalog rows → the contract's JSON shapes (plain dicts of JSON values, so they can be cached).

Dates are ``YYYY-MM-DD``, wall times ``HH:MM`` (venue-local), timestamps ISO 8601 in +05:30.
"""

from __future__ import annotations

from datetime import date, datetime, time

from nibog.catalog.models import AddOn, City, Event, EventGame, GameSlot, Venue
from nibog.core.timeutil import as_utc, isoformat_ist, local_to_utc, utcnow


def hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def city_dict(city: City) -> dict:
    return {"id": city.id, "name": city.name, "state": city.state, "slug": city.slug}


def venue_dict(venue: Venue) -> dict:
    return {
        "id": venue.id,
        "name": venue.name,
        "address": venue.address,
        "city_id": venue.city_id,
        "latitude": venue.latitude,
        "longitude": venue.longitude,
    }


def event_item(event: Event, price_from, min_age, max_age, seats_left) -> dict:
    return {
        "id": event.id,
        "title": event.title,
        "slug": event.slug,
        "city": city_dict(event.city),
        "venue": venue_dict(event.venue),
        "event_date": event.event_date.isoformat(),
        "start_time": hhmm(event.start_time),
        "end_time": hhmm(event.end_time),
        "image_url": event.image_url,
        "min_age_months": min_age,
        "max_age_months": max_age,
        "price_from": int(price_from) if price_from is not None else None,
        "seats_left": int(seats_left or 0),
        "is_featured": event.is_featured,
        "status": event.status,
    }


def effective_game_price(game: EventGame) -> int | None:
    return game.price if game.price is not None else game.template.default_price


def effective_slot_price(slot: GameSlot, game: EventGame) -> int | None:
    return slot.price if slot.price is not None else effective_game_price(game)


def effective_ages(game: EventGame) -> tuple[int, int]:
    lo = game.min_age_months if game.min_age_months is not None else game.template.min_age_months
    hi = game.max_age_months if game.max_age_months is not None else game.template.max_age_months
    return lo, hi


def registration_closes_at(event: Event) -> datetime:
    """When online booking stops: the explicit close time, and never later than the event's
    start (venue-local) - the booking engine applies the same rule."""
    start = local_to_utc(event.event_date, event.start_time)
    explicit = as_utc(event.registration_closes_at)
    return min(explicit, start) if explicit is not None else start


def registration_open(
    status: str, opens_at: datetime | None, closes_at: datetime, now: datetime | None = None
) -> bool:
    now = now or utcnow()
    if status != "published":
        return False
    if opens_at is not None and now < as_utc(opens_at):
        return False
    return now < as_utc(closes_at)


def slot_status(seats_left: int, is_open: bool, reg_open: bool) -> str:
    if not is_open or not reg_open:
        return "closed"
    return "full" if seats_left <= 0 else "available"


def slot_dict(slot: GameSlot, game: EventGame, reg_open: bool, queued: bool = False) -> dict:
    # A seat freed in a slot with a waiting list is the queue's (booking it is refused) until
    # the offer round hands it on: not for sale, so not shown as free.
    seats = 0 if queued else max(0, slot.capacity - slot.booked_count)
    return {
        "id": slot.id,
        "event_game_id": game.id,
        "game_name": game.template.name,
        "start_time": hhmm(slot.start_time),
        "end_time": hhmm(slot.end_time),
        "capacity": slot.capacity,
        "seats_left": seats,
        "price": effective_slot_price(slot, game),
        "status": slot_status(seats, slot.is_open, reg_open),
    }


def game_info(game: EventGame) -> dict:
    lo, hi = effective_ages(game)
    t = game.template
    return {
        "id": t.id,
        "name": t.name,
        "category": t.category,
        "min_age_months": lo,
        "max_age_months": hi,
        "duration_minutes": t.duration_minutes,
    }


def game_dict(game: EventGame, reg_open: bool) -> dict:
    return {
        "event_game_id": game.id,
        "game": game_info(game),
        "price": effective_game_price(game),
        "slots": [slot_dict(s, game, reg_open) for s in game.slots],
    }


def addon_dict(addon: AddOn) -> dict:
    return {
        "id": addon.id,
        "name": addon.name,
        "description": addon.description,
        "price": addon.price,
        "variants": [
            {
                "id": v.id,
                "name": v.name,
                "price": v.price if v.price is not None else addon.price,
                "stock_left": None if v.stock is None else max(0, v.stock - v.sold_count),
            }
            for v in addon.variants
            if v.is_active
        ],
    }


def summarise_games(games: list[EventGame]) -> tuple:
    """(price_from, min_age, max_age, seats_left) from loaded games, as the listing computes."""
    prices, lows, highs, seats = [], [], [], 0
    for g in games:
        lo, hi = effective_ages(g)
        lows.append(lo)
        highs.append(hi)
        for s in g.slots:
            p = effective_slot_price(s, g)
            if p is not None:
                prices.append(p)
            if s.is_open:
                seats += max(0, s.capacity - s.booked_count)
    return (min(prices, default=None), min(lows, default=None), max(highs, default=None), seats)


def event_detail(event: Event, extras: dict) -> dict:
    closes = registration_closes_at(event)
    reg_open = registration_open(event.status, event.registration_opens_at, closes)
    out = event_item(event, *summarise_games(event.games))
    avg, count = extras["rating"]
    out.update(
        {
            "description": event.description,
            "registration_opens_at": isoformat_ist(event.registration_opens_at),
            "registration_closes_at": isoformat_ist(closes),
            "registration_open": reg_open,
            "games": [game_dict(g, reg_open) for g in event.games],
            "gallery": [
                {"id": g.id, "image_url": g.image_url, "caption": g.caption}
                for g in extras["gallery"]
            ],
            "faqs": [{"id": f.id, "question": f.question, "answer": f.answer} for f in extras["faqs"]],
            "addons": [addon_dict(a) for a in extras["addons"]],
            "rating": {"average": round(float(avg), 2) if avg is not None else None, "count": count},
        }
    )
    return out


def overlay_live(detail: dict, slots: dict, stock: dict, now: datetime | None = None) -> dict:
    """Replace the cached seat/stock numbers and slot states with live ones."""
    opens = detail.get("registration_opens_at")
    reg_open = registration_open(
        detail["status"],
        datetime.fromisoformat(opens) if opens else None,
        datetime.fromisoformat(detail["registration_closes_at"]),
        now,
    )
    detail["registration_open"] = reg_open
    total = 0
    for game in detail["games"]:
        for slot in game["slots"]:
            capacity, booked, is_open, queued = slots.get(
                slot["id"], (slot["capacity"], 0, False, False)
            )
            seats = 0 if queued else max(0, capacity - booked)
            slot.update(
                capacity=capacity,
                seats_left=seats,
                status=slot_status(seats, is_open, reg_open),
            )
            total += seats if is_open else 0
    detail["seats_left"] = total
    for addon in detail["addons"]:
        for variant in addon["variants"]:
            if variant["id"] in stock:
                variant["stock_left"] = stock[variant["id"]]
    return detail


def iso_date(value: date) -> str:
    return value.isoformat()
