"""Children, favourites and the waiting list in a parent's account."""

from __future__ import annotations

from datetime import timedelta

from nibog import waitlist
from nibog.accounts.models import Child, UserFavorite
from nibog.booking.models import Booking, WaitingListEntry
from nibog.core import boundary
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from tests.documents.helpers import make_booking
from tests.factories import ChildFactory, EventFactory, GameSlotFactory
from tests.web.support import csrf_on, csrf_token, hindi, html, sign_in


def _children(user_id: int) -> list[Child]:
    db.session.expire_all()
    return list(db.session.query(Child).filter_by(user_id=user_id, deleted_at=None))


def test_add_a_child_then_see_it_with_its_age(client):
    user = sign_in(client)
    born = today_ist() - timedelta(days=400)
    resp = client.post("/account/children", data={
        "full_name": "Diya", "date_of_birth": born.isoformat(), "gender": "female"})
    assert resp.status_code == 303
    [child] = _children(user.id)
    assert (child.full_name, child.date_of_birth, child.gender) == ("Diya", born, "female")
    page = html(client.get("/account/children"))
    assert "Diya is added." in page and "13 months old" in page


def test_a_child_born_in_the_future_is_refused_next_to_the_date(client):
    user = sign_in(client)
    tomorrow = (today_ist() + timedelta(days=1)).isoformat()
    resp = client.post("/account/children", data={"full_name": "Diya", "date_of_birth": tomorrow})
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="date_of_birth-error"' in page and "cannot be in the future" in page
    assert 'value="Diya"' in page and f'value="{tomorrow}"' in page
    resp = client.post("/account/children", data={"full_name": "", "date_of_birth": "31-31-2020"})
    assert resp.status_code == 422 and "Enter the child's name." in html(resp)
    assert _children(user.id) == []


def test_edit_and_remove_a_child(client):
    user = sign_in(client)
    child = ChildFactory(parent=user, full_name="Aarav")
    assert 'value="Aarav"' in html(client.get(f"/account/children/{child.id}"))
    resp = client.post(f"/account/children/{child.id}", data={
        "full_name": "Aarav Rao", "date_of_birth": child.date_of_birth.isoformat()})
    assert resp.status_code == 303 and _children(user.id)[0].full_name == "Aarav Rao"
    resp = client.post(f"/account/children/{child.id}/remove")
    assert resp.status_code == 303 and _children(user.id) == []


def test_a_child_with_an_upcoming_booking_stays(client):
    user = sign_in(client)
    booking, info = make_booking(user=user)
    child = info["children"][0]
    resp = client.post(f"/account/children/{child.id}/remove")
    assert resp.status_code == 409 and "has upcoming bookings" in html(resp)
    assert len(_children(user.id)) == 1


def test_another_parents_child_is_not_found(client):
    sign_in(client)
    other = ChildFactory(full_name="Not Yours")
    assert client.get(f"/account/children/{other.id}").status_code == 404
    assert client.post(f"/account/children/{other.id}", data={
        "full_name": "Mine now", "date_of_birth": "2024-01-01"}).status_code == 404
    assert client.post(f"/account/children/{other.id}/remove").status_code == 404
    db.session.expire_all()
    assert db.session.get(Child, other.id).full_name == "Not Yours"


def test_child_form_refuses_a_post_without_its_csrf_token(client, app):
    user = sign_in(client)
    with csrf_on(app):
        data = {"full_name": "Diya", "date_of_birth": "2024-01-01"}
        assert client.post("/account/children", data=data).status_code == 400
        token = csrf_token(html(client.get("/account/children")))
        assert client.post("/account/children", data={**data, "csrf_token": token}
                           ).status_code == 303
    assert len(_children(user.id)) == 1


def test_children_page_in_hindi(client):
    sign_in(client)
    hindi(client)
    page = html(client.get("/account/children"))
    assert "बच्चे" in page and "Add a child" not in page


# --- favourites ---------------------------------------------------------------------------------


def test_favourites_list_and_remove(client):
    user = sign_in(client)
    event = EventFactory(title="Chennai Games")
    db.session.add(UserFavorite(user_id=user.id, event_id=event.id))
    boundary.commit()
    page = html(client.get("/account/favorites"))
    assert "Chennai Games" in page and f"/events/{event.id}-" in page
    resp = client.post(f"/account/favorites/{event.id}/remove")
    assert resp.status_code == 303
    assert "Chennai Games" not in html(client.get("/account/favorites"))


# --- waiting list -------------------------------------------------------------------------------


def _full_slot_with_queue(user):
    slot = GameSlotFactory(capacity=1, booked_count=1)
    child = ChildFactory(parent=user, full_name="Kabir")
    entry = waitlist.join(user.id, slot.id, child.id)
    boundary.commit()
    return slot, entry


def test_waiting_list_shows_the_place_in_the_queue_and_leaving_works(client):
    user = sign_in(client)
    slot, entry = _full_slot_with_queue(user)
    page = html(client.get("/account/waiting-list"))
    assert "Kabir" in page and "Number 1 in the queue" in page
    resp = client.post(f"/account/waiting-list/{entry.id}/leave")
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(WaitingListEntry, entry.id).status == "cancelled"


def test_an_offered_seat_is_accepted_by_paying_within_the_window(client, app):
    user = sign_in(client)
    slot, entry = _full_slot_with_queue(user)
    slot = db.session.merge(slot)
    slot.booked_count = 0  # a seat frees up
    boundary.commit()
    assert boundary.run_unit(waitlist.offer_seats, slot.id) == 1
    db.session.expire_all()
    entry = db.session.get(WaitingListEntry, entry.id)
    assert entry.status == "offered"
    page = html(client.get("/account/waiting-list"))
    assert "A seat is held for Kabir until" in page
    assert f'href="/book/{entry.offered_booking_id}/pay"' in page
    # Declining gives the seat up at once.
    client.post(f"/account/waiting-list/{entry.id}/leave")
    db.session.expire_all()
    assert db.session.get(Booking, entry.offered_booking_id).status == "cancelled"


def test_another_parents_entry_cannot_be_left(client):
    sign_in(client)
    from tests.factories import UserFactory

    _, entry = _full_slot_with_queue(UserFactory())
    assert client.post(f"/account/waiting-list/{entry.id}/leave").status_code == 404
    db.session.expire_all()
    assert db.session.get(WaitingListEntry, entry.id).status == "waiting"


def test_waiting_list_in_hindi(client):
    user = sign_in(client)
    _full_slot_with_queue(user)
    hindi(client)
    page = html(client.get("/account/waiting-list"))
    assert "प्रतीक्षा" in page and "Leave the list" not in page
