"""Favourites: idempotent add, list of compact events, remove; each user sees only their own."""

from __future__ import annotations

from nibog.accounts.models import UserFavorite
from tests.auth.support import make_user
from tests.factories import EventFactory
from tests.helpers import auth_headers, error_code


def test_add_is_idempotent_and_list_shows_the_event(client, db):
    user = make_user()
    event = EventFactory(title="Winter Games")
    h = auth_headers(user)
    first = client.post(f"/api/users/me/favorites/{event.id}", headers=h)
    second = client.post(f"/api/users/me/favorites/{event.id}", headers=h)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert db.session.query(UserFavorite).count() == 1
    page = client.get("/api/users/me/favorites", headers=h).get_json()
    assert page["total"] == 1 and page["page"] == 1
    item = page["items"][0]
    assert item["id"] == event.id and item["title"] == "Winter Games"
    assert item["event_date"] == event.event_date.isoformat()
    assert item["start_time"] == "09:00"
    assert item["city"]["id"] == event.city_id and item["venue"]["id"] == event.venue_id


def test_remove_favorite(client):
    user = make_user()
    event = EventFactory()
    h = auth_headers(user)
    client.post(f"/api/users/me/favorites/{event.id}", headers=h)
    assert client.delete(f"/api/users/me/favorites/{event.id}", headers=h).status_code == 204
    assert client.get("/api/users/me/favorites", headers=h).get_json()["items"] == []
    assert client.delete(f"/api/users/me/favorites/{event.id}", headers=h).status_code == 204


def test_unknown_or_draft_event_is_404(client):
    user = make_user()
    draft = EventFactory(status="draft")
    for event_id in (draft.id, 999999):
        resp = client.post(f"/api/users/me/favorites/{event_id}", headers=auth_headers(user))
        assert resp.status_code == 404 and error_code(resp) == "not_found"


def test_favorites_are_private_to_each_user(client):
    alice, bob = make_user(), make_user()
    shared, only_alice = EventFactory(), EventFactory()
    for event in (shared, only_alice):
        client.post(f"/api/users/me/favorites/{event.id}", headers=auth_headers(alice))
    client.post(f"/api/users/me/favorites/{shared.id}", headers=auth_headers(bob))

    bob_ids = [
        e["id"]
        for e in client.get("/api/users/me/favorites", headers=auth_headers(bob)).get_json()[
            "items"
        ]
    ]
    assert bob_ids == [shared.id]
    # Bob removing "his" favourites never touches Alice's.
    client.delete(f"/api/users/me/favorites/{shared.id}", headers=auth_headers(bob))
    client.delete(f"/api/users/me/favorites/{only_alice.id}", headers=auth_headers(bob))
    alice_ids = {
        e["id"]
        for e in client.get("/api/users/me/favorites", headers=auth_headers(alice)).get_json()[
            "items"
        ]
    }
    assert alice_ids == {shared.id, only_alice.id}


def test_favorites_need_a_login(client):
    event = EventFactory()
    assert client.get("/api/users/me/favorites").status_code == 401
    assert client.post(f"/api/users/me/favorites/{event.id}").status_code == 401
    assert client.delete(f"/api/users/me/favorites/{event.id}").status_code == 401
