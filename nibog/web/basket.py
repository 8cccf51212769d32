"""The booking flow's basket, kept in the signed session cookie between steps (pretix's cart,
without holding seats: seats are held only when the parent confirms the review).

It holds choices, not rules: which children, games, slots, extras and promo code the parent
picked. Every rule is applied by the booking service when it prices or books the basket.
One basket at a time; starting another event's booking replaces it.

Children are keyed: ``c<id>`` for a signed-in parent's child, ``g<n>`` for a guest's (guests'
children are only names and birth dates until the booking is made).
"""

from __future__ import annotations

from datetime import date

from flask import session

KEY = "basket"
GUEST_CODES = "guest_codes"
MAX_GUEST_CODES = 5


def load(event_id: int) -> dict:
    basket = session.get(KEY)
    if not basket or basket.get("event_id") != event_id:
        basket = {"event_id": event_id, "guest": None, "children": [], "games": [], "items": [],
                  "addons": [], "promo": None, "full_slots": [], "booking_id": None}
    return basket


def save(basket: dict) -> None:
    session[KEY] = basket
    session.modified = True


def clear() -> None:
    session.pop(KEY, None)


def current() -> dict | None:
    return session.get(KEY)


def child(basket: dict, key: str) -> dict | None:
    return next((c for c in basket["children"] if c["key"] == key), None)


def child_id(key: str) -> int | None:
    return int(key[1:]) if key.startswith("c") and key[1:].isdigit() else None


def birth_date(entry: dict) -> date:
    return date.fromisoformat(entry["dob"])


def keep_only_children(basket: dict, keys: list[str]) -> None:
    """Drop the games and slots of children no longer chosen."""
    basket["games"] = [g for g in basket["games"] if g[0] in keys]
    basket["items"] = [i for i in basket["items"] if i[0] in keys]


def keep_only_games(basket: dict, pairs: list[list]) -> None:
    """Keep the slots already chosen for games still chosen (the rest of the basket stays)."""
    wanted = {(k, g) for k, g in pairs}
    basket["games"] = [list(p) for p in pairs]
    basket["items"] = [i for i in basket["items"] if (i[0], i[2]) in wanted]


# Items are [child key, slot id, event game id]: the game id lets a changed game list keep
# the slots of the games that stay.

def service_items(basket: dict, guest: bool) -> list[dict]:
    """The items as the booking service takes them."""
    if guest:
        index = {c["key"]: n for n, c in enumerate(basket["children"])}
        return [{"child_index": index[k], "slot_id": s} for k, s, _g in basket["items"]]
    return [{"child_id": child_id(k), "slot_id": s} for k, s, _g in basket["items"]]


def priced_items(basket: dict, guest: bool) -> list[dict]:
    """Items for pricing: a guest's children are not on record yet, so slots only."""
    if guest:
        return [{"slot_id": s} for _k, s, _g in basket["items"]]
    return service_items(basket, guest=False)


def service_addons(basket: dict) -> list[dict]:
    return [{"addon_id": a, "variant_id": v, "quantity": q} for a, v, q in basket["addons"]]


def remember_guest_code(booking_id: int, code: str) -> None:
    """A guest's access code, so this browser can pay, see and download its booking."""
    codes = dict(session.get(GUEST_CODES) or {})
    codes[str(booking_id)] = code
    session[GUEST_CODES] = dict(list(codes.items())[-MAX_GUEST_CODES:])


def guest_code(booking_id: int) -> str | None:
    return (session.get(GUEST_CODES) or {}).get(str(booking_id))
