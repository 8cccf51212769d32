"""A small bookable world: a published event with games, slots and add-ons, and a parent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

from nibog.core.timeutil import today_ist
from tests.factories import (
    AddOnFactory,
    AddOnVariantFactory,
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
    birth_date_for_age,
)


@dataclass
class World:
    event: object
    games: list = field(default_factory=list)
    slots: list = field(default_factory=list)
    parent: object = None
    children: list = field(default_factory=list)


def make_world(*, days_ahead=30, capacity=10, n_slots=2, n_children=2, child_age=24,
               price=None, game_price=None, template_price=79900, **event_kw) -> World:
    event = EventFactory(event_date=today_ist() + timedelta(days=days_ahead), **event_kw)
    template = GameTemplateFactory(min_age_months=12, max_age_months=48, default_price=template_price)
    game = EventGameFactory(event=event, template=template, price=game_price)
    slots = [
        GameSlotFactory(event_game=game, capacity=capacity, price=price,
                        start_time=time(10 + i, 0), end_time=time(10 + i, 30))
        for i in range(n_slots)
    ]
    parent = UserFactory()
    children = [
        ChildFactory(parent=parent, date_of_birth=birth_date_for_age(child_age, event.event_date))
        for _ in range(n_children)
    ]
    return World(event=event, games=[game], slots=slots, parent=parent, children=children)


def assert_nothing_booked(*worlds) -> None:
    """A refused booking leaves no booking behind and every seat of the worlds' slots free."""
    from sqlalchemy import func, select

    from nibog.booking.models import Booking
    from nibog.catalog.models import GameSlot
    from nibog.extensions import db

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    for world in worlds:
        assert [db.session.get(GameSlot, s.id).booked_count for s in world.slots] == [0] * len(
            world.slots)


def add_variant(event, *, price=29900, variant_price=None, stock=10, name="Meal Pack"):
    addon = AddOnFactory(event=event, name=name, price=price)
    return AddOnVariantFactory(addon=addon, price=variant_price, stock=stock)


def make_promo(code="EARLY10", *, kind="percent", value=10, event_ids=(), game_template_ids=(),
               **fields):
    """A committed promo code, optionally scoped to events and game templates."""
    from nibog.booking.models import PromoCode, promo_code_events, promo_code_games
    from nibog.extensions import db

    promo = PromoCode(code=code, kind=kind, value=value, **fields)
    db.session.add(promo)
    db.session.flush()
    for event_id in event_ids:
        db.session.execute(promo_code_events.insert().values(promo_code_id=promo.id, event_id=event_id))
    for template_id in game_template_ids:
        db.session.execute(
            promo_code_games.insert().values(promo_code_id=promo.id, game_template_id=template_id)
        )
    db.session.commit()
    return promo
