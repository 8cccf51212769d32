from datetime import timedelta

from nibog.catalog.models import Review
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    UserFactory,
    make_booking,
)
from tests.helpers import auth_headers, error_code


def _reviews() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Review))


def _booking(days_from_today=-1, status="confirmed"):
    event = EventFactory(event_date=today_ist() + timedelta(days=days_from_today))
    slot = GameSlotFactory(event_game=EventGameFactory(event=event))
    parent = UserFactory()
    return parent, make_booking(parent, [(ChildFactory(parent=parent), slot)], status=status)


def test_owner_reviews_once_after_the_event_then_edits_and_deletes(client):
    parent, booking = _booking()
    url = f"/api/bookings/{booking.id}/review"
    resp = client.post(
        url, json={"rating": 5, "comment": " Lovely day "}, headers=auth_headers(parent)
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["rating"] == 5 and resp.get_json()["comment"] == "Lovely day"
    assert resp.get_json()["event_id"] == booking.event_id

    second = client.post(url, json={"rating": 4}, headers=auth_headers(parent))
    assert second.status_code == 409 and error_code(second) == "review_exists"

    edited = client.put(url, json={"rating": 3}, headers=auth_headers(parent))
    assert edited.status_code == 200 and edited.get_json()["rating"] == 3
    assert edited.get_json()["comment"] == "Lovely day"

    assert client.delete(url, headers=auth_headers(parent)).status_code == 204
    assert db.session.scalar(db.select(db.func.count()).select_from(Review)) == 0
    assert client.put(url, json={"rating": 3}, headers=auth_headers(parent)).status_code == 404


def test_no_review_before_the_event_is_over(client):
    parent, booking = _booking(days_from_today=2)
    resp = client.post(
        f"/api/bookings/{booking.id}/review", json={"rating": 5}, headers=auth_headers(parent)
    )
    assert resp.status_code == 422 and error_code(resp) == "event_not_over"
    assert _reviews() == 0


def test_cancelled_booking_cannot_be_reviewed(client):
    parent, booking = _booking(status="cancelled")
    resp = client.post(
        f"/api/bookings/{booking.id}/review", json={"rating": 5}, headers=auth_headers(parent)
    )
    assert resp.status_code == 422 and error_code(resp) == "booking_not_reviewable"
    assert _reviews() == 0


def test_only_the_owner_and_valid_ratings(client):
    parent, booking = _booking()
    url = f"/api/bookings/{booking.id}/review"
    other = UserFactory()
    assert client.post(url, json={"rating": 5}, headers=auth_headers(other)).status_code == 404
    assert client.post(url, json={"rating": 5}).status_code == 401
    for bad in (0, 6):
        resp = client.post(url, json={"rating": bad}, headers=auth_headers(parent))
        assert resp.status_code == 422 and "rating" in resp.get_json()["error"]["details"]
    assert _reviews() == 0


def test_a_family_recorded_absent_cannot_review(client):
    from nibog.booking.models import BookingItem
    from nibog.core import boundary

    parent, booking = _booking()
    for item in db.session.scalars(db.select(BookingItem).where(BookingItem.booking_id == booking.id)):
        item.attendance = "no_show"
    boundary.commit()
    resp = client.post(
        f"/api/bookings/{booking.id}/review", json={"rating": 1}, headers=auth_headers(parent)
    )
    assert resp.status_code == 422 and error_code(resp) == "booking_not_reviewable"
    assert _reviews() == 0
