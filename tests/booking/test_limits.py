"""A booking's size limits, each enforced twice: by the API's schema (a 422 before any work) and
by the booking service (for the site, the admin and jobs, which do not go through the schema).
Each side is tested on its own, at both edges, so removing either one fails a test."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from nibog.booking.models import Booking, BookingAddon, BookingItem
from nibog.booking.schemas import BookingAddonIn, CreateBookingIn, GuestBookingIn
from nibog.booking.service import MAX_ADDON_QUANTITY, MAX_ITEMS, create_booking
from nibog.core.errors import ValidationFailed
from nibog.extensions import db
from tests.booking.world import add_variant, make_world


def book(w, items, addons=()):
    return create_booking(user_id=w.parent.id, event_id=w.event.id, items=items,
                          addons=list(addons), promo_code=None, source="app")


def bookings():
    return db.session.scalar(select(func.count()).select_from(Booking))


def grid(w, n):
    """n distinct (child, slot) items, each child in slots at different times."""
    return [{"child_id": c.id, "slot_id": s.id} for c in w.children for s in w.slots][:n]


def test_the_limits_are_twenty():
    assert MAX_ITEMS == 20 and MAX_ADDON_QUANTITY == 20


def test_the_service_books_twenty_items_and_refuses_twenty_one():
    w = make_world(n_slots=7, n_children=3)  # 21 possible items
    with pytest.raises(ValidationFailed) as refused:
        book(w, grid(w, 21))
    assert refused.value.details == {"items": ["At most 20 items per booking"]}
    db.session.rollback()
    assert bookings() == 0
    booking = book(w, grid(w, 20))
    assert db.session.scalar(select(func.count()).select_from(BookingItem)
                             .where(BookingItem.booking_id == booking.id)) == 20


@pytest.mark.parametrize("quantity", [0, -1, 21])
def test_the_service_refuses_an_addon_quantity_outside_one_to_twenty(quantity):
    w = make_world(n_slots=1, n_children=1)
    variant = add_variant(w.event, stock=100)
    with pytest.raises(ValidationFailed) as refused:
        book(w, grid(w, 1), [{"addon_id": variant.addon_id, "variant_id": variant.id,
                              "quantity": quantity}])
    assert refused.value.details == {"addons": ["quantity must be 1-20"]}
    db.session.rollback()
    assert bookings() == 0
    assert variant.sold_count == 0


@pytest.mark.parametrize("quantity", [1, 20])
def test_the_service_takes_an_addon_quantity_at_the_edges(quantity):
    w = make_world(n_slots=1, n_children=1)
    variant = add_variant(w.event, stock=100)
    booking = book(w, grid(w, 1), [{"addon_id": variant.addon_id, "variant_id": variant.id,
                                    "quantity": quantity}])
    assert db.session.scalars(select(BookingAddon.quantity)
                              .where(BookingAddon.booking_id == booking.id)).all() == [quantity]


@pytest.mark.parametrize("quantity, ok", [(0, False), (1, True), (20, True), (21, False)])
def test_the_schema_takes_addon_quantities_one_to_twenty(quantity, ok):
    row = {"addon_id": 1, "quantity": quantity}
    if ok:
        assert BookingAddonIn().load(row)["quantity"] == quantity
    else:
        with pytest.raises(ValidationError) as refused:
            BookingAddonIn().load(row)
        assert "quantity" in refused.value.messages


@pytest.mark.parametrize("schema", [CreateBookingIn, GuestBookingIn])
@pytest.mark.parametrize("n, ok", [(0, False), (1, True), (20, True), (21, False)])
def test_the_schemas_take_one_to_twenty_items(schema, n, ok):
    items = [{"child_id": i, "slot_id": i} if schema is CreateBookingIn
             else {"child_index": 0, "slot_id": i} for i in range(n)]
    body = {"event_id": 1, "items": items}
    errors = schema().validate(body)
    assert ("items" not in errors) is ok, errors
