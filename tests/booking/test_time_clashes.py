"""A child plays one game at a time: one booking may not put a child in two overlapping slots."""

from __future__ import annotations

from datetime import time

import pytest

from nibog.booking import service
from nibog.core.errors import AppError
from tests.booking.world import make_world
from tests.factories import EventGameFactory, GameSlotFactory, GameTemplateFactory


def _second_game(world, start: time, end: time):
    game = EventGameFactory(event=world.event, template=GameTemplateFactory(
        min_age_months=12, max_age_months=48))
    return GameSlotFactory(event_game=game, start_time=start, end_time=end)


def test_overlapping_slots_for_one_child_are_refused(db):
    world = make_world(n_children=1)  # slots 10:00-10:30 and 11:00-11:30
    clash = _second_game(world, time(10, 15), time(10, 45))
    child = world.children[0]
    with pytest.raises(AppError) as caught:
        service.create_booking(
            user_id=world.parent.id, event_id=world.event.id, addons=None, promo_code=None,
            source="web", items=[{"child_id": child.id, "slot_id": world.slots[0].id},
                                 {"child_id": child.id, "slot_id": clash.id}])
    assert caught.value.code == "slot_overlap" and caught.value.status == 422
    assert caught.value.details["items"] == [
        {"child_id": child.id, "slot_ids": [world.slots[0].id, clash.id]}]


def test_back_to_back_slots_and_two_children_at_once_are_fine(db):
    world = make_world(n_children=2)
    after = _second_game(world, time(10, 30), time(11, 0))  # starts when the first ends
    a, b = world.children
    booking = service.create_booking(
        user_id=world.parent.id, event_id=world.event.id, addons=None, promo_code=None,
        source="web", items=[{"child_id": a.id, "slot_id": world.slots[0].id},
                             {"child_id": a.id, "slot_id": after.id},
                             {"child_id": b.id, "slot_id": world.slots[0].id}])
    assert booking.status == "pending_payment"


def test_time_clashes_checks_a_basket_before_children_exist(db):
    world = make_world(n_children=0)
    clash = _second_game(world, time(10, 0), time(10, 30))
    items = [{"child": "g0", "slot_id": world.slots[0].id}, {"child": "g0", "slot_id": clash.id},
             {"child": "g1", "slot_id": clash.id}]
    assert service.time_clashes(world.event.id, items) == [
        {"child": "g0", "slot_ids": sorted([world.slots[0].id, clash.id])}]
