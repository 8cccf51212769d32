"""POST /api/bookings authenticates without reading the account row (it matters in a sales
burst), so every way of ending a token must still stop a booking made with it."""

from __future__ import annotations

import warnings

from nibog.auth.passwords import hash_password
from nibog.booking.models import Booking
from nibog.extensions import db
from tests.auth.support import PASSWORD, bearer, login
from tests.booking.world import make_world
from tests.factories import UserFactory
from tests.helpers import error_code


def _book(client, w, token):
    body = {"event_id": w.event.id,
            "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    return client.post("/api/bookings", json=body, headers=bearer(token))


def _parent_token(client, w) -> str:
    w.parent.password_hash = hash_password(PASSWORD)
    db.session.commit()
    return login(client, w.parent.email).get_json()["access_token"]


def _no_booking_made() -> bool:
    return db.session.query(Booking).count() == 0


def test_token_from_before_a_password_change_cannot_book(client):
    w = make_world()
    old = _parent_token(client, w)
    resp = client.put("/api/auth/change-password", headers=bearer(old),
                      json={"current_password": PASSWORD, "new_password": "another-password-9"})
    assert resp.status_code == 200
    resp = _book(client, w, old)
    assert resp.status_code == 401 and error_code(resp) == "unauthorized"
    assert _no_booking_made()
    fresh = login(client, w.parent.email, "another-password-9").get_json()["access_token"]
    assert _book(client, w, fresh).status_code == 201


def test_deactivating_an_account_any_way_stops_its_tokens_booking(client):
    w = make_world()
    token = _parent_token(client, w)
    # Not through the admin service: a shell or a future code path flipping the flag directly.
    w.parent.is_active_account = False
    db.session.commit()
    resp = _book(client, w, token)
    assert resp.status_code == 401
    assert _no_booking_made()


def test_logged_out_token_cannot_book(client):
    w = make_world()
    token = _parent_token(client, w)
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code in (200, 204)
    assert _book(client, w, token).status_code == 401
    assert _no_booking_made()


def test_demoted_admin_token_loses_admin_access_at_once(client, db):
    admin = UserFactory(role="admin", password_hash=hash_password(PASSWORD))
    db.session.commit()
    token = login(client, admin.email).get_json()["access_token"]
    assert client.get("/api/admin/users", headers=bearer(token)).status_code == 200
    admin.role = "parent"
    db.session.commit()
    assert client.get("/api/admin/users", headers=bearer(token)).status_code == 401


def test_expired_forged_and_other_key_tokens_are_refused_with_their_codes(client, app):
    from datetime import timedelta

    import jwt as pyjwt
    from flask_jwt_extended import create_access_token

    w = make_world()
    with app.test_request_context():
        expired = create_access_token(identity=w.parent, expires_delta=timedelta(seconds=-60))
        good = create_access_token(identity=w.parent)
    resp = _book(client, w, expired)
    assert resp.status_code == 401 and error_code(resp) == "token_expired"
    claims = pyjwt.decode(good, options={"verify_signature": False})
    forged = pyjwt.encode({**claims, "sub": str(int(claims["sub"]) + 1)}, "not-our-key-but-long-enough-for-hs256!",
                          algorithm="HS256")
    resp = _book(client, w, forged)
    assert resp.status_code == 401 and error_code(resp) == "unauthorized"
    header, payload, _sig = good.split(".")
    resp = _book(client, w, f"{header}.{payload}.{'A' * 43}")
    assert resp.status_code == 401
    assert _no_booking_made()
    assert _book(client, w, good).status_code == 201


def test_unsigned_and_other_algorithm_tokens_are_refused(client, app):
    """The one-pass token check keeps PyJWT's algorithm allow-list (HS256 only)."""
    import jwt as pyjwt
    from flask_jwt_extended import create_access_token

    w = make_world()
    with app.test_request_context():
        good = create_access_token(identity=w.parent)
    claims = pyjwt.decode(good, options={"verify_signature": False})
    unsigned = pyjwt.encode(claims, None, algorithm="none")
    with warnings.catch_warnings():  # the test secret is short for HS512; irrelevant here
        warnings.simplefilter("ignore")
        other_alg = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS512")
    for token in (unsigned, other_alg, "not-a-token", good + "x"):
        resp = _book(client, w, token)
        assert resp.status_code == 401 and error_code(resp) == "unauthorized", token
    assert _no_booking_made()
    # The key checked once for the good token does not vouch for a token signed otherwise.
    assert _book(client, w, good).status_code == 201
    assert _book(client, w, other_alg).status_code == 401


def test_bearer_found_among_other_authorization_values(client, app):
    from flask_jwt_extended import create_access_token

    w = make_world()
    with app.test_request_context():
        good = create_access_token(identity=w.parent)
    body = {"event_id": w.event.id,
            "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    resp = client.post("/api/bookings", json=body,
                       headers={"Authorization": f"Basic Zm9vOmJhcg==, Bearer {good}"})
    assert resp.status_code == 201
    resp = client.post("/api/bookings", json=body, headers={"Authorization": "Bearer"})
    assert resp.status_code == 401 and error_code(resp) == "unauthorized"
