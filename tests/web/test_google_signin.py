"""Google sign-in on the site: the button's round trip through Google's page, as Google posts
the ID token back (form_post, no CSRF token). Tokens are signed with a local key and Google's
certificate endpoint is served by ``responses`` (tests/auth/test_google.py): no network."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from nibog.accounts.models import User
from tests.auth.test_google import ATTACKER_KEY, CLIENT_ID, id_token
from tests.auth.test_google import certs as certs  # noqa: F401 - a fixture, used below
from tests.helpers import html


@pytest.fixture
def google_on(app, monkeypatch, certs):  # noqa: F811 - the fixture imported above
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://nibog.example")
    return certs


def _start(client, next_url: str = "/events") -> dict[str, str]:
    """Press the button: what Google is asked for (the state and nonce it hands back)."""
    resp = client.get("/login/google", query_string={"next": next_url})
    assert resp.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlparse(resp.headers["Location"]).query).items()}
    assert query["client_id"] == CLIENT_ID and query["response_mode"] == "form_post"
    assert query["redirect_uri"] == "https://nibog.example/login/google/callback"
    return query


def _signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_valid_token_signs_the_parent_in_and_returns_them_where_they_were(client, db, google_on,
                                                                         outbox):
    asked = _start(client, "/events?age_months=20")
    resp = client.post("/login/google/callback", data={
        "state": asked["state"], "id_token": id_token(nonce=asked["nonce"])})
    assert resp.status_code == 302 and resp.headers["Location"] == "/events?age_months=20"
    assert "g_nonce=;" in resp.headers["Set-Cookie"]  # the one-time nonce is spent
    assert _signed_in(client)
    user = db.session.query(User).filter_by(email="priya@gmail.com").one()
    assert user.full_name == "Priya Nair" and user.email_verified
    assert "Priya Nair" in html(client.get("/account"))


def test_an_existing_google_account_signs_in_again_without_a_second_account(client, db,
                                                                           google_on):
    for _ in range(2):
        asked = _start(client, "/account")
        resp = client.post("/login/google/callback", data={
            "state": asked["state"], "id_token": id_token(nonce=asked["nonce"])})
        assert resp.headers["Location"] == "/account"
        client.post("/logout")
    assert db.session.query(User).filter_by(email="priya@gmail.com").count() == 1


def test_a_token_with_another_nonce_is_refused(client, db, google_on):
    asked = _start(client)
    resp = client.post("/login/google/callback", data={
        "state": asked["state"], "id_token": id_token(nonce="someone-elses-nonce")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert "The Google sign-in was not started in this browser." in html(
        client.get(resp.headers["Location"]))
    assert not _signed_in(client)
    assert db.session.query(User).count() == 0


def test_a_callback_in_another_browser_is_refused(client, app, db, google_on):
    asked = _start(client)
    # A token and state lifted from this browser, replayed where the nonce cookie is not set.
    other = app.test_client()
    resp = other.post("/login/google/callback", data={
        "state": asked["state"], "id_token": id_token(nonce=asked["nonce"])})
    assert resp.headers["Location"].endswith("/login")
    assert "not started in this browser" in html(other.get("/login"))
    assert other.get("/account").status_code != 200
    assert db.session.query(User).count() == 0


@pytest.mark.parametrize("state", ["forged", "tampered"])
def test_a_forged_or_altered_state_is_refused(client, db, google_on, state):
    asked = _start(client)
    value = "forged" if state == "forged" else asked["state"][:-2] + "xx"
    resp = client.post("/login/google/callback", data={
        "state": value, "id_token": id_token(nonce=asked["nonce"])})
    assert resp.headers["Location"].endswith("/login")
    assert "took too long or was not started here" in html(client.get("/login"))
    assert not _signed_in(client)


def test_a_token_not_signed_by_google_is_refused(client, db, google_on):
    asked = _start(client)
    resp = client.post("/login/google/callback", data={
        "state": asked["state"], "id_token": id_token(ATTACKER_KEY[0], nonce=asked["nonce"])})
    assert resp.headers["Location"].endswith("/login")
    assert not _signed_in(client)
    assert db.session.query(User).count() == 0


def test_an_off_site_next_is_dropped(client, db, google_on):
    asked = _start(client, "https://evil.example/steal")
    resp = client.post("/login/google/callback", data={
        "state": asked["state"], "id_token": id_token(nonce=asked["nonce"])})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert _signed_in(client)


def test_without_a_client_id_there_is_no_google_sign_in(client, db):
    assert "Sign in with Google" not in html(client.get("/login"))
    assert client.get("/login/google").status_code == 404
    assert client.post("/login/google/callback", data={"state": "x"}).status_code == 404
