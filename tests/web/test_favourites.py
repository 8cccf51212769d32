"""The favourite toggle on the event page: add, see it in the account, remove; signed-out
visitors go to sign in and come back to the event."""

from __future__ import annotations

from urllib.parse import unquote

from sqlalchemy import select

from nibog.accounts.models import UserFavorite
from nibog.core import boundary
from nibog.extensions import db
from tests.factories import EventFactory
from tests.web.support import PASSWORD, csrf_on, csrf_token, hindi, html, make_user, sign_in


def _event():
    event = EventFactory(title="Chennai Baby Games", slug="chennai-baby-games")
    boundary.commit()
    return event


def _favourites(user) -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(UserFavorite.event_id).where(UserFavorite.user_id == user.id)))


def test_a_parent_adds_an_event_to_favourites_sees_it_listed_and_removes_it(client, app):
    event = _event()
    path = f"/events/{event.id}-chennai-baby-games"
    user = sign_in(client)
    with csrf_on(app):
        page = html(client.get(path))
        assert f'action="/events/{event.id}/favourite"' in page and "Add to favourites" in page
        resp = client.post(f"/events/{event.id}/favourite", data={"csrf_token": csrf_token(page)})
        assert resp.status_code == 303 and resp.headers["Location"].endswith(path)
        assert _favourites(user) == [event.id]

        page = html(client.get(path))
        assert "Added to your favourites." in page and "In your favourites" in page
        assert f'action="/events/{event.id}/favourite/remove"' in page
        listed = html(client.get("/account/favorites"))
        assert "Chennai Baby Games" in listed and path in listed

        resp = client.post(f"/events/{event.id}/favourite/remove",
                           data={"csrf_token": csrf_token(page)})
        assert resp.status_code == 303 and resp.headers["Location"].endswith(path)
        assert _favourites(user) == []
        page = html(client.get(path))
        assert "Removed from your favourites." in page and "Add to favourites" in page
        assert "Chennai Baby Games" not in html(client.get("/account/favorites"))


def test_adding_twice_keeps_one_favourite(client):
    event = _event()
    user = sign_in(client)
    client.post(f"/events/{event.id}/favourite")
    client.post(f"/events/{event.id}/favourite")
    assert _favourites(user) == [event.id]


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back_to_the_event(client):
    event = _event()
    user = make_user()
    path = f"/events/{event.id}-chennai-baby-games"
    page = html(client.get(path))
    assert f'href="/login?next={path}"' in page
    assert "Add to favourites" in page and "/favourite\"" not in page
    # A button posted after the session ended: to sign in, back to the event, nothing added.
    resp = client.post(f"/events/{event.id}/favourite")
    assert resp.status_code == 303
    assert unquote(resp.headers["Location"]).endswith(f"/login?next={path}")
    assert "Sign in to keep your favourite events." in html(client.get(resp.headers["Location"]))
    back = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "next": path})
    assert back.headers["Location"].endswith(path)
    assert _favourites(user) == []
    assert f'action="/events/{event.id}/favourite"' in html(client.get(path))


def test_the_toggle_refuses_a_post_without_the_csrf_token(client, app):
    event = _event()
    user = sign_in(client)
    with csrf_on(app):
        resp = client.post(f"/events/{event.id}/favourite", data={})
    assert resp.status_code == 400
    assert _favourites(user) == []


def test_a_draft_event_cannot_be_favourited(client):
    event = EventFactory(status="draft")
    boundary.commit()
    user = sign_in(client)
    assert client.post(f"/events/{event.id}/favourite").status_code == 404
    assert _favourites(user) == []


def test_the_toggle_in_hindi(client):
    event = _event()
    sign_in(client)
    hindi(client)
    path = f"/events/{event.id}-chennai-baby-games"
    assert "पसंदीदा में जोड़ें" in html(client.get(path))
    client.post(f"/events/{event.id}/favourite")
    page = html(client.get(path))
    assert "आपके पसंदीदा में है" in page and "पसंदीदा से हटाएँ" in page
