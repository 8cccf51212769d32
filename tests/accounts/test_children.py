"""Children: CRUD scoped to the owner, birth date rules, exact round-trip, delete guard."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from nibog.accounts.models import Child
from nibog.core.timeutil import age_in_months, today_ist
from tests.auth.support import make_booking, make_user
from tests.factories import ChildFactory, birth_date_for_age
from tests.helpers import auth_headers, error_code


def years_ago(years: int) -> date:
    today = today_ist()
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def test_create_and_read_child_with_age_today(client):
    user = make_user()
    dob = birth_date_for_age(20)
    resp = client.post(
        "/api/users/me/children",
        headers=auth_headers(user),
        json={
            "full_name": "Aarav",
            "date_of_birth": dob.isoformat(),
            "gender": "male",
            "school_name": "Little Steps",
        },
    )
    assert resp.status_code == 201
    child = resp.get_json()
    assert child["date_of_birth"] == dob.isoformat()
    assert child["age_months"] == 20
    assert {"id", "full_name", "date_of_birth", "gender", "age_months"} <= set(child)
    got = client.get(f"/api/users/me/children/{child['id']}", headers=auth_headers(user)).get_json()
    assert got == child


@pytest.mark.parametrize("dob", ["2024-02-29", "2020-12-31", "2023-01-01", "2025-03-31"])
def test_birth_dates_round_trip_exactly(client, db, dob):
    """The old system shifted birthdays by a day through a timezone; a DATE never moves."""
    user = make_user()
    resp = client.post(
        "/api/users/me/children",
        headers=auth_headers(user),
        json={"full_name": "Kid", "date_of_birth": dob},
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["date_of_birth"] == dob
    db.session.expire_all()
    assert db.session.get(Child, resp.get_json()["id"]).date_of_birth == date.fromisoformat(dob)
    listed = client.get("/api/users/me/children", headers=auth_headers(user)).get_json()
    assert listed["items"][0]["date_of_birth"] == dob
    assert listed["items"][0]["age_months"] == age_in_months(date.fromisoformat(dob), today_ist())


@pytest.mark.parametrize(
    "dob, ok",
    [
        (lambda: today_ist() + timedelta(days=1), False),
        (lambda: today_ist(), True),
        (lambda: years_ago(16), True),
        (lambda: years_ago(16) - timedelta(days=1), False),
    ],
    ids=["tomorrow", "today", "exactly-16-years", "16-years-and-a-day"],
)
def test_birth_date_limits(client, dob, ok):
    user = make_user()
    resp = client.post(
        "/api/users/me/children",
        headers=auth_headers(user),
        json={"full_name": "Kid", "date_of_birth": dob().isoformat()},
    )
    if ok:
        assert resp.status_code == 201
    else:
        assert resp.status_code == 422
        assert "date_of_birth" in resp.get_json()["error"]["details"]


def test_validation_errors(client):
    user = make_user()
    h = auth_headers(user)
    resp = client.post("/api/users/me/children", headers=h, json={"date_of_birth": "2023-01-01"})
    assert resp.status_code == 422 and "full_name" in resp.get_json()["error"]["details"]
    resp = client.post(
        "/api/users/me/children",
        headers=h,
        json={"full_name": "Kid", "date_of_birth": "01/02/2023"},
    )
    assert resp.status_code == 422
    resp = client.post(
        "/api/users/me/children",
        headers=h,
        json={"full_name": "Kid", "date_of_birth": "2023-01-01", "gender": "robot"},
    )
    assert resp.status_code == 422 and "gender" in resp.get_json()["error"]["details"]


def test_update_child(client):
    user = make_user()
    child = ChildFactory(parent=user)
    h = auth_headers(user)
    resp = client.put(
        f"/api/users/me/children/{child.id}",
        headers=h,
        json={"full_name": "Renamed", "date_of_birth": "2022-06-15"},
    )
    assert resp.status_code == 200
    assert resp.get_json()["full_name"] == "Renamed"
    assert resp.get_json()["date_of_birth"] == "2022-06-15"
    future = (today_ist() + timedelta(days=3)).isoformat()
    resp = client.put(
        f"/api/users/me/children/{child.id}", headers=h, json={"date_of_birth": future}
    )
    assert resp.status_code == 422


def test_every_children_endpoint_hides_other_parents_children(client):
    owner, stranger = make_user(), make_user()
    child = ChildFactory(parent=owner, full_name="Owner's kid")
    h = auth_headers(stranger)
    url = f"/api/users/me/children/{child.id}"
    assert client.get("/api/users/me/children", headers=h).get_json()["items"] == []
    for resp in (
        client.get(url, headers=h),
        client.put(url, headers=h, json={"full_name": "Stolen"}),
        client.delete(url, headers=h),
    ):
        assert resp.status_code == 404 and error_code(resp) == "not_found"
    mine = client.get(url, headers=auth_headers(owner)).get_json()
    assert mine["full_name"] == "Owner's kid"


def test_children_need_a_login(client):
    assert client.get("/api/users/me/children").status_code == 401
    assert client.post("/api/users/me/children", json={}).status_code == 401


def test_delete_child_soft_deletes(client, db):
    user = make_user()
    child = ChildFactory(parent=user)
    h = auth_headers(user)
    assert client.delete(f"/api/users/me/children/{child.id}", headers=h).status_code == 204
    assert client.get(f"/api/users/me/children/{child.id}", headers=h).status_code == 404
    assert client.get("/api/users/me/children", headers=h).get_json()["total"] == 0
    db.session.expire_all()
    assert db.session.get(Child, child.id).deleted_at is not None


@pytest.mark.parametrize("status", ["confirmed", "pending_payment"])
def test_child_with_upcoming_booking_cannot_be_deleted(client, status):
    user = make_user()
    child = ChildFactory(parent=user)
    make_booking(user, child, status=status)
    resp = client.delete(f"/api/users/me/children/{child.id}", headers=auth_headers(user))
    assert resp.status_code == 409 and error_code(resp) == "child_has_bookings"
    assert (
        client.get(f"/api/users/me/children/{child.id}", headers=auth_headers(user)).status_code
        == 200
    )


def test_past_or_cancelled_bookings_do_not_block_deletion(client, db):
    user = make_user()
    child = ChildFactory(parent=user)
    make_booking(user, child, status="completed", event_date=today_ist() - timedelta(days=30))
    make_booking(user, child, status="cancelled")
    resp = client.delete(f"/api/users/me/children/{child.id}", headers=auth_headers(user))
    assert resp.status_code == 204
    gone = client.get(f"/api/users/me/children/{child.id}", headers=auth_headers(user))
    assert gone.status_code == 404
    db.session.expire_all()
    assert db.session.get(Child, child.id).deleted_at is not None
