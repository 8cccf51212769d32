"""The waiting list's housekeeping rules, each tested on its own: which entries the periodic job
closes, which slots it offers again, and how a free offer is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nibog.booking.models import Booking, WaitingListEntry
from nibog.core.timeutil import today_ist, utcnow
from nibog.extensions import db
from nibog.waitlist.offers import close_stale_entries, offer_seats, stranded_slots
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
    make_booking,
)


def waiting_in(slot, status="waiting"):
    parent = UserFactory()
    entry = WaitingListEntry(slot_id=slot.id, child_id=ChildFactory(parent=parent).id,
                             user_id=parent.id, status=status)
    db.session.add(entry)
    db.session.commit()
    return entry


def slot_of(event, capacity=1, **game_kw):
    return GameSlotFactory(event_game=EventGameFactory(event=event, **game_kw), capacity=capacity)


def statuses(*entries):
    db.session.expire_all()
    return [db.session.get(WaitingListEntry, e.id).status for e in entries]


@pytest.mark.parametrize("stale", [
    {"event_date": today_ist() - timedelta(days=1)},
    {"registration_closes_at": utcnow() - timedelta(minutes=1)},
    {"status": "cancelled"},
    {"status": "completed"},
], ids=["past_date", "registration_closed", "cancelled", "completed"])
def test_entries_that_can_never_be_offered_are_closed(stale):
    live = waiting_in(slot_of(EventFactory()))
    gone = waiting_in(slot_of(EventFactory(**stale)))
    assert close_stale_entries() == 1
    assert statuses(gone, live) == ["expired", "waiting"]


def test_an_entry_whose_registration_closes_later_stays():
    later = waiting_in(slot_of(EventFactory(registration_closes_at=utcnow() + timedelta(hours=1))))
    today = waiting_in(slot_of(EventFactory(event_date=today_ist())))
    assert close_stale_entries() == 0
    assert statuses(later, today) == ["waiting", "waiting"]


@pytest.mark.parametrize("status", ["draft", "cancelled", "completed"])
def test_only_published_events_have_stranded_seats_offered(status):
    published = slot_of(EventFactory(), capacity=2)
    other = slot_of(EventFactory(status=status), capacity=2)
    for slot in (published, other):
        waiting_in(slot)
    assert stranded_slots() == {published.id}


def test_stranded_seats_need_a_free_seat_an_open_slot_and_someone_waiting():
    free = slot_of(EventFactory(), capacity=2)
    waiting_in(free)
    closed = slot_of(EventFactory(), capacity=2)
    closed.is_open = False
    waiting_in(closed)
    slot_of(EventFactory(), capacity=2)  # nobody waiting
    full = slot_of(EventFactory(), capacity=1)
    holder = UserFactory()
    make_booking(holder, [(ChildFactory(parent=holder), full)])
    waiting_in(full)
    offered_only = slot_of(EventFactory(), capacity=2)
    waiting_in(offered_only, status="cancelled")
    assert stranded_slots() == {free.id}


def test_a_free_offer_is_booked_at_once():
    """A game that costs nothing confirms when offered: the entry is booked, with no offer
    window to run out (an 'offered' entry would expire and pass on a seat already taken)."""
    template = GameTemplateFactory(min_age_months=0, max_age_months=600, default_price=0)
    slot = slot_of(EventFactory(), capacity=1, template=template)
    entry = waiting_in(slot)
    assert offer_seats(slot.id) == 1
    db.session.commit()
    db.session.expire_all()
    entry = db.session.get(WaitingListEntry, entry.id)
    booking = db.session.get(Booking, entry.offered_booking_id)
    assert (booking.status, booking.total) == ("confirmed", 0)
    assert (entry.status, entry.offer_expires_at) == ("booked", None)
