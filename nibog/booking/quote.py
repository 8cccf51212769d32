"""Pricing a basket on the server: the lines, add-ons and promo discount a booking would get.

Reads and validates; counts nothing (no seat, stock or promo use is taken here). The booking
flow (``service.create_booking``) prices with ``quote`` before it takes any lock, and
``preview_promo`` answers validate-promo from the same code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload, load_only

from nibog.accounts.models import Child
from nibog.booking import holds, promos
from nibog.booking.eligibility import ineligibility
from nibog.booking.pricing import addon_unit_price, item_price
from nibog.catalog.models import (
    AddOn,
    AddOnVariant,
    Event,
    EventGame,
    GameSlot,
    GameTemplate,
)
from nibog.core.errors import AppError, NotFound, ValidationFailed
from nibog.core.money import CURRENCY
from nibog.core.timeutil import utcnow
from nibog.extensions import db

MAX_ITEMS = 20
MAX_ADDON_QUANTITY = 20


@dataclass
class Line:
    child: Child | None  # None only in a promo preview priced before children are chosen
    slot: GameSlot
    event_game: EventGame
    template: GameTemplate
    price: int


@dataclass
class AddonLine:
    addon: AddOn
    variant: AddOnVariant | None
    quantity: int
    unit_price: int

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity

    def as_row(self) -> dict:
        """The booking-add-on row this line becomes (and what a price breakdown shows)."""
        return {
            "addon_id": self.addon.id,
            "variant_id": self.variant.id if self.variant else None,
            "name": f"{self.addon.name} ({self.variant.name})" if self.variant else self.addon.name,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "total": self.total,
        }


@dataclass
class Quote:
    event: Event
    lines: list[Line]
    addon_lines: list[AddonLine]
    subtotal: int
    discount: int
    promo_id: int | None

    @property
    def total(self) -> int:
        return self.subtotal - self.discount


def get_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound("Event")
    return event


def _int_field(row: dict, name: str, where: str) -> int:
    value = row.get(name) if isinstance(row, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed({where: [f"{name} must be an integer"]})
    return value


# The booking path's reads, built once (building a statement costs about as much CPU as running
# a small one).
_SLOTS_WITH_GAMES = (
    select(GameSlot, EventGame, GameTemplate)
    .join(EventGame, EventGame.id == GameSlot.event_game_id)
    .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
    .where(GameSlot.id.in_(bindparam("slot_ids", expanding=True)))
)
_OWN_CHILDREN = (
    select(Child)
    .where(
        Child.id.in_(bindparam("child_ids", expanding=True)),
        Child.user_id == bindparam("owner_id"),
        Child.deleted_at.is_(None),
    )
    # What eligibility and the answer read; any other column is loaded if asked.
    .options(load_only(Child.id, Child.user_id, Child.full_name, Child.date_of_birth),
             lazyload(Child.parent))
)
def _load_slots(
    event: Event, slot_ids: list[int], loaded: dict[int, tuple] | None = None
) -> dict[int, tuple]:
    """slot id -> (slot, event game, template); 422 when a slot is not part of this event.

    ``loaded``: this event's slots already read for these ids (``_event_with_slots``).
    """
    if loaded is None:
        rows = db.session.execute(_SLOTS_WITH_GAMES, {"slot_ids": sorted(set(slot_ids))}).all()
        loaded = {slot.id: (slot, eg, tpl) for slot, eg, tpl in rows if eg.event_id == event.id}
    slots = {sid: loaded[sid] for sid in slot_ids if sid in loaded}
    foreign = sorted(set(slot_ids) - slots.keys())
    if foreign:
        raise ValidationFailed(
            {"items": [f"Slot {s} is not part of this event" for s in foreign]},
            "Some slots do not belong to this event",
        )
    return slots


def resolve_lines(
    event: Event, items: list[dict], owner_id: int | None, *, with_children: bool = True,
    slots: dict[int, tuple] | None = None, children: dict[int, Child] | None = None,
) -> list[Line]:
    """Children (the owner's, not deleted), slots (of this event), prices and eligibility.

    ``with_children=False`` prices the slots only (a promo preview before children are known).
    ``slots`` and ``children``: already read for these items (``_event_with_slots``).
    """
    if not items:
        raise ValidationFailed({"items": ["Choose at least one game slot"]})
    if len(items) > MAX_ITEMS:
        raise ValidationFailed({"items": [f"At most {MAX_ITEMS} items per booking"]})
    if not with_children:
        slot_ids = [_int_field(i, "slot_id", "items") for i in items]
        slots = _load_slots(event, slot_ids, slots)
        return [Line(None, *slots[sid], item_price(*slots[sid])) for sid in slot_ids]
    pairs = [(_int_field(i, "child_id", "items"), _int_field(i, "slot_id", "items")) for i in items]
    if len(set(pairs)) != len(pairs):
        raise holds.already_booked([p for p in pairs if pairs.count(p) > 1])
    child_ids = {c for c, _ in pairs}
    if children is None:
        children = {
            c.id: c
            for c in db.session.scalars(
                _OWN_CHILDREN, {"child_ids": sorted(child_ids), "owner_id": owner_id}
            )
        } if owner_id is not None else {}
    missing = sorted(child_ids - children.keys())
    if missing:
        raise AppError("not_found", "Child not found", 404, {"child_ids": missing})
    slots = _load_slots(event, [s for _, s in pairs], slots)
    lines, refused = [], []
    for child_id, slot_id in pairs:
        slot, eg, tpl = slots[slot_id]
        child = children[child_id]
        reason = ineligibility(child, event, eg, tpl)
        if reason:
            refused.append({**reason, "slot_id": slot_id})
        lines.append(Line(child, slot, eg, tpl, item_price(slot, eg, tpl)))
    if refused:
        raise AppError(
            "child_not_eligible",
            "A child's age on the event date is outside the game's age band",
            422,
            {"items": refused},
        )
    _refuse_clashes([(line.child.id, line.slot) for line in lines])
    return lines


def _clashes(pairs: list[tuple[object, GameSlot]]) -> list[dict]:
    """Items putting one child in two slots whose times overlap (a child plays one game at
    a time). In memory: the slots are already read."""
    out, by_child = [], {}
    for child, slot in pairs:
        by_child.setdefault(child, []).append(slot)
    for child, slots in by_child.items():
        slots = sorted(slots, key=lambda s: (s.start_time, s.id))
        for earlier, later in zip(slots, slots[1:], strict=False):
            if later.id != earlier.id and later.start_time < earlier.end_time:
                out.append({"child": child, "slot_ids": [earlier.id, later.id]})
    return out


def _refuse_clashes(pairs: list[tuple[object, GameSlot]]) -> None:
    clashes = _clashes(pairs)
    if clashes:
        raise AppError(
            "slot_overlap", "A child cannot play two games whose times overlap", 422,
            {"items": [{"child_id": c["child"], "slot_ids": c["slot_ids"]} for c in clashes]},
        )


def time_clashes(event_id: int, items: list[dict]) -> list[dict]:
    """For a basket being filled (before children are on record): ``items`` of
    ``{"child": any key, "slot_id"}``; returns ``[{"child": key, "slot_ids": [a, b]}]`` for
    each child put in two overlapping slots. The booking refuses those (``slot_overlap``)."""
    event = get_event(event_id)
    slots = _load_slots(event, [i["slot_id"] for i in items])
    return _clashes([(i["child"], slots[i["slot_id"]][0]) for i in items])


def resolve_addons(event: Event, addons: list[dict] | None) -> list[AddonLine]:
    merged: Counter = Counter()
    for row in addons or []:
        addon_id = _int_field(row, "addon_id", "addons")
        variant_id = row.get("variant_id")
        if variant_id is not None:
            variant_id = _int_field(row, "variant_id", "addons")
        quantity = _int_field(row, "quantity", "addons") if "quantity" in row else 1
        if not 1 <= quantity <= MAX_ADDON_QUANTITY:
            raise ValidationFailed({"addons": [f"quantity must be 1-{MAX_ADDON_QUANTITY}"]})
        merged[(addon_id, variant_id)] += quantity
    if not merged:
        return []
    found = {
        a.id: a
        for a in db.session.scalars(
            select(AddOn).where(
                AddOn.id.in_({a for a, _ in merged}), AddOn.event_id == event.id, AddOn.is_active
            )
        )
    }
    variants: dict[int, list[AddOnVariant]] = {}
    for v in db.session.scalars(
        select(AddOnVariant).where(AddOnVariant.addon_id.in_(found), AddOnVariant.is_active)
    ):
        variants.setdefault(v.addon_id, []).append(v)
    out = []
    for (addon_id, variant_id), quantity in merged.items():
        addon = found.get(addon_id)
        if addon is None:
            raise ValidationFailed({"addons": [f"Add-on {addon_id} is not offered for this event"]})
        options = {v.id: v for v in variants.get(addon_id, [])}
        if variant_id is None and options:
            raise ValidationFailed({"addons": [f"Choose a variant of {addon.name}"]})
        if variant_id is not None and variant_id not in options:
            raise ValidationFailed({"addons": [f"Variant {variant_id} is not offered for {addon.name}"]})
        variant = options.get(variant_id) if variant_id is not None else None
        out.append(AddonLine(addon, variant, quantity, addon_unit_price(addon, variant)))
    return out


def quote(
    *, event: Event, items: list[dict], addons: list[dict] | None, promo_code: str | None,
    owner_id: int | None, with_children: bool = True, slots: dict[int, tuple] | None = None,
    children: dict[int, Child] | None = None,
) -> Quote:
    """Everything priced on the server; raises the validation errors. Counts nothing."""
    lines = resolve_lines(event, items, owner_id, with_children=with_children, slots=slots,
                          children=children)
    addon_lines = resolve_addons(event, addons)
    subtotal = sum(line.price for line in lines) + sum(a.total for a in addon_lines)
    discount, promo_id = 0, None
    if promos.normalise_code(promo_code):
        promo = promos.find_promo(promo_code)
        discount = promos.compute_discount(
            promo,
            event_id=event.id,
            lines=[promos.PricedLine(line.template.id, line.price) for line in lines],
            addons_total=sum(a.total for a in addon_lines),
            now=utcnow(),
        )
        promo_id = promo.id
    return Quote(event, lines, addon_lines, subtotal, discount, promo_id)


def preview_promo(
    *, code: str, event_id: int, items: list[dict], addons: list[dict] | None,
    user_id: int | None,
) -> dict:
    """validate-promo: the discount a booking would get now, without counting a use."""
    event = get_event(event_id)
    # A guest, or a basket without children yet: price the slots and skip the children.
    with_children = user_id is not None and all(i.get("child_id") is not None for i in items)
    try:
        q = quote(event=event, items=items, addons=addons, promo_code=code, owner_id=user_id,
                  with_children=with_children)
        if q.promo_id is None:
            raise AppError("promo_invalid", "Enter a promo code", 422)
        promo = db.session.get(promos.PromoCode, q.promo_id)
        promos.ensure_uses_left(promo, user_id=user_id, guest_email=None)
    except AppError as exc:
        if exc.code not in ("promo_invalid", "promo_exhausted"):
            raise
        subtotal = _subtotal_or_none(event, items, addons, user_id, with_children)
        return {"valid": False, "discount": 0, "subtotal": subtotal, "total": subtotal,
                "currency": CURRENCY, "message": exc.message, "code": exc.code}
    return {"valid": True, "discount": q.discount, "subtotal": q.subtotal, "total": q.total,
            "currency": CURRENCY, "message": "Promo code applied", "code": None}


def _subtotal_or_none(event, items, addons, user_id, with_children) -> int | None:
    try:
        q = quote(event=event, items=items, addons=addons, promo_code=None, owner_id=user_id,
                  with_children=with_children)
    except AppError:
        return None
    return q.subtotal


def price_basket(
    *, event_id: int, items: list[dict], addons: list[dict] | None, promo_code: str | None,
    user_id: int | None,
) -> dict:
    """The breakdown a parent reviews before any seat is held: the same quote the booking will
    be made from, counting nothing. A guest's children are not on record yet, so a guest's
    slots are priced without them (``items`` need only ``slot_id``); their ages are checked when
    the booking is made. Raises what ``quote`` raises (an invalid promo: ``promo_invalid``)."""
    event = get_event(event_id)
    q = quote(event=event, items=items, addons=addons, promo_code=promo_code, owner_id=user_id,
              with_children=user_id is not None)
    return {
        "lines": [
            {
                "slot_id": line.slot.id,
                "event_game_id": line.event_game.id,
                "child_id": line.child.id if line.child is not None else None,
                "game_name": line.template.name,
                "start_time": line.slot.start_time,
                "end_time": line.slot.end_time,
                "price": line.price,
            }
            for line in q.lines
        ],
        "addons": [a.as_row() for a in q.addon_lines],
        "subtotal": q.subtotal,
        "discount": q.discount,
        "total": q.total,
        "currency": CURRENCY,
    }
