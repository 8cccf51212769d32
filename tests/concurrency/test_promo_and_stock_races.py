"""Promo max_uses and add-on stock are counted exactly under parallel bookings (with controls)."""

from __future__ import annotations

from datetime import time

from sqlalchemy import func, select

from nibog.booking.models import Booking, BookingAddon, PromoCode
from nibog.booking.service import create_booking
from nibog.catalog.models import AddOnVariant
from nibog.core import locking
from nibog.extensions import db
from tests.booking.world import add_variant, make_promo, make_world
from tests.concurrency.race import codes, pause_at, race
from tests.concurrency.test_seat_races import parents_with_children
from tests.factories import GameSlotFactory

N = 8
LIMIT = 3


def own_slots(w, n):
    """One slot per parent, so the promo row or the stock is the only thing they share."""
    return [
        GameSlotFactory(event_game=w.games[0], capacity=5, start_time=time(9, i), end_time=time(10, i))
        for i in range(n)
    ]


def booker(w, slots, people, *, promo_code=None, addons=None):
    def fn(i):
        user_id, child_id = people[i]
        return create_booking(
            user_id=user_id, event_id=w.event.id,
            items=[{"child_id": child_id, "slot_id": slots[i].id}],
            addons=addons or [], promo_code=promo_code, source="app",
        ).id

    return fn


def promo_bookings(promo_id):
    return db.session.scalar(
        select(func.count()).select_from(Booking).where(Booking.promo_code_id == promo_id)
    )


def test_promo_max_uses_holds_under_a_race(app):
    w = make_world(n_slots=0, n_children=0)
    promo = make_promo("RACE", max_uses=LIMIT)
    results = race(app, N, booker(w, own_slots(w, N), parents_with_children(N, w.event),
                                  promo_code="RACE"))
    assert codes(results) == ["ok"] * LIMIT + ["promo_exhausted"] * (N - LIMIT)
    db.session.expire_all()
    assert db.session.get(PromoCode, promo.id).used_count == LIMIT == promo_bookings(promo.id)


def test_control_without_promo_lock_the_code_is_overused(app, monkeypatch):
    w = make_world(n_slots=0, n_children=0)
    promo = make_promo("RACE", max_uses=LIMIT)
    slots, people = own_slots(w, N), parents_with_children(N, w.event)
    monkeypatch.setattr(locking.guards, "lock_rows", False)
    monkeypatch.setattr(locking.guards, "pause", pause_at("promo_read", N))
    results = race(app, N, booker(w, slots, people, promo_code="RACE"))
    assert codes(results) == ["ok"] * N
    db.session.expire_all()
    assert promo_bookings(promo.id) == N > LIMIT
    assert db.session.get(PromoCode, promo.id).used_count < N  # lost updates


def test_addon_stock_holds_under_a_race(app):
    w = make_world(n_slots=0, n_children=0)
    variant = add_variant(w.event, stock=LIMIT)
    addons = [{"addon_id": variant.addon_id, "variant_id": variant.id, "quantity": 1}]
    results = race(app, N, booker(w, own_slots(w, N), parents_with_children(N, w.event),
                                  addons=addons))
    assert codes(results) == ["addon_out_of_stock"] * (N - LIMIT) + ["ok"] * LIMIT
    db.session.expire_all()
    sold = db.session.scalar(select(func.sum(BookingAddon.quantity)))
    assert db.session.get(AddOnVariant, variant.id).sold_count == LIMIT == sold


def test_control_without_stock_lock_the_addon_oversells(app, monkeypatch):
    w = make_world(n_slots=0, n_children=0)
    variant = add_variant(w.event, stock=LIMIT)
    addons = [{"addon_id": variant.addon_id, "variant_id": variant.id, "quantity": 1}]
    slots, people = own_slots(w, N), parents_with_children(N, w.event)
    monkeypatch.setattr(locking.guards, "lock_rows", False)
    monkeypatch.setattr(locking.guards, "pause", pause_at("stock_read", N))
    results = race(app, N, booker(w, slots, people, addons=addons))
    assert codes(results) == ["ok"] * N
    db.session.expire_all()
    assert db.session.scalar(select(func.sum(BookingAddon.quantity))) == N > LIMIT
