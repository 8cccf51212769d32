"""Forgot/reset password and email verification: signed, expiring, single-use links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from itsdangerous import TimestampSigner

from nibog.auth import tokens
from tests.auth.support import PASSWORD, bearer, login, make_user
from tests.helpers import error_code


def token_from(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def forgot(client, email):
    return client.post("/api/auth/forgot-password", json={"email": email})


def test_forgot_password_answers_202_whether_or_not_the_account_exists(client, outbox):
    make_user(email="meera@example.com")
    known, unknown = forgot(client, "Meera@example.com"), forgot(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    sent = outbox.of("password_reset")
    assert [to for to, _ in sent] == ["meera@example.com"]
    assert "token=" in sent[0][1]["reset_url"]


def test_reset_password_sets_password_revokes_tokens_and_is_single_use(client, outbox):
    make_user(email="meera@example.com")
    old_session = login(client, "meera@example.com").get_json()
    forgot(client, "meera@example.com")
    token = token_from(outbox.last("password_reset")[1]["reset_url"])

    resp = client.post(
        "/api/auth/reset-password", json={"token": token, "password": "fresh-password-1"}
    )
    assert resp.status_code == 200
    assert (
        client.get("/api/users/me", headers=bearer(resp.get_json()["access_token"])).status_code
        == 200
    )
    # Every earlier token of the user is dead.
    assert (
        client.get("/api/users/me", headers=bearer(old_session["access_token"])).status_code == 401
    )
    assert (
        client.post("/api/auth/refresh", headers=bearer(old_session["refresh_token"])).status_code
        == 401
    )
    assert login(client, "meera@example.com").status_code == 401
    assert login(client, "meera@example.com", "fresh-password-1").status_code == 200

    again = client.post(
        "/api/auth/reset-password", json={"token": token, "password": "another-pass-2"}
    )
    assert again.status_code == 400 and error_code(again) == "invalid_token"
    assert login(client, "meera@example.com", "fresh-password-1").status_code == 200


def test_reset_link_dies_when_the_password_changes_another_way(client, outbox):
    make_user(email="meera@example.com")
    forgot(client, "meera@example.com")
    token = token_from(outbox.last("password_reset")[1]["reset_url"])
    access = login(client, "meera@example.com").get_json()["access_token"]
    client.put(
        "/api/auth/change-password",
        headers=bearer(access),
        json={"current_password": PASSWORD, "new_password": "changed-meanwhile"},
    )
    resp = client.post(
        "/api/auth/reset-password", json={"token": token, "password": "fresh-password-1"}
    )
    assert resp.status_code == 400 and error_code(resp) == "invalid_token"


def test_reset_link_dies_when_the_address_changes(client, outbox):
    """A link goes to one mailbox: after the account's address changes it cannot set the
    password (nor prove the new address, which a reset otherwise does)."""
    make_user(email="meera@example.com")
    forgot(client, "meera@example.com")
    token = token_from(outbox.last("password_reset")[1]["reset_url"])
    access = login(client, "meera@example.com").get_json()["access_token"]
    assert client.put("/api/users/me", json={"email": "someone.else@example.com"},
                      headers=bearer(access)).status_code == 200
    resp = client.post(
        "/api/auth/reset-password", json={"token": token, "password": "fresh-password-1"}
    )
    assert resp.status_code == 400 and error_code(resp) == "invalid_token"
    assert login(client, "someone.else@example.com").status_code == 200


def make_reset_token_aged(user, seconds: int, monkeypatch) -> str:
    real = TimestampSigner.get_timestamp
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - seconds)
        return tokens.make_reset_token(user)


def test_reset_token_is_valid_for_an_hour_only(client, monkeypatch):
    user = make_user(email="meera@example.com")
    stale = make_reset_token_aged(user, 3601, monkeypatch)
    resp = client.post(
        "/api/auth/reset-password", json={"token": stale, "password": "fresh-password-1"}
    )
    assert resp.status_code == 400 and error_code(resp) == "token_expired"
    recent = make_reset_token_aged(user, 3500, monkeypatch)
    resp = client.post(
        "/api/auth/reset-password", json={"token": recent, "password": "fresh-password-1"}
    )
    assert resp.status_code == 200


@pytest.mark.parametrize("token", ["garbage", "eyJ1aWQiOjF9.forged.sig"])
def test_forged_reset_token_is_refused(client, token):
    make_user(email="meera@example.com")
    resp = client.post(
        "/api/auth/reset-password", json={"token": token, "password": "fresh-password-1"}
    )
    assert resp.status_code == 400 and error_code(resp) == "invalid_token"


def test_a_verification_token_is_not_a_reset_token(client):
    user = make_user(email="meera@example.com")
    token = tokens.make_verify_email_token(user)
    resp = client.post(
        "/api/auth/reset-password", json={"token": token, "password": "fresh-password-1"}
    )
    assert resp.status_code == 400


def test_email_verification_flow(client, outbox):
    make_user(email="meera@example.com", email_verified=False)
    access = login(client, "meera@example.com").get_json()["access_token"]
    assert client.post("/api/users/me/verify-email", headers=bearer(access)).status_code == 202
    to, context = outbox.last("verify_email")
    assert to == "meera@example.com"
    url = urlparse(context["verify_url"])
    assert url.path == "/api/auth/verify-email"

    resp = client.get(f"{url.path}?{url.query}")
    assert resp.status_code == 200 and resp.get_json()["email_verified"] is True
    assert client.get("/api/users/me", headers=bearer(access)).get_json()["email_verified"] is True
    # Single use.
    again = client.get(f"{url.path}?{url.query}")
    assert again.status_code == 400 and error_code(again) == "invalid_token"
    assert (
        error_code(client.post("/api/users/me/verify-email", headers=bearer(access)))
        == "already_verified"
    )


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_the_verification_link_opened_in_a_browser_shows_a_page(client, outbox):
    make_user(email="meera@example.com", email_verified=False)
    access = login(client, "meera@example.com").get_json()["access_token"]
    client.post("/api/users/me/verify-email", headers=bearer(access))
    url = urlparse(outbox.last("verify_email")[1]["verify_url"])

    page = client.get(f"{url.path}?{url.query}", headers=BROWSER, follow_redirects=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "meera@example.com is confirmed" in page.get_data(as_text=True)
    assert client.get("/api/users/me", headers=bearer(access)).get_json()["email_verified"] is True

    again = client.get(f"{url.path}?{url.query}", headers=BROWSER)
    assert again.status_code == 400 and again.mimetype == "text/html"
    assert 'data-state="bad_link"' in again.get_data(as_text=True)
    # A client asking for JSON still gets the contract's error.
    as_json = client.get(f"{url.path}?{url.query}", headers={"Accept": "application/json"})
    assert as_json.status_code == 400 and error_code(as_json) == "invalid_token"


def test_verification_link_for_an_old_address_is_worthless(client, outbox):
    make_user(email="meera@example.com")
    access = login(client, "meera@example.com").get_json()["access_token"]
    client.post("/api/users/me/verify-email", headers=bearer(access))
    old_link = urlparse(outbox.last("verify_email")[1]["verify_url"])
    client.put("/api/users/me", json={"email": "meera.new@example.com"}, headers=bearer(access))
    resp = client.get(f"{old_link.path}?{old_link.query}")
    assert resp.status_code == 400
    assert client.get("/api/users/me", headers=bearer(access)).get_json()["email_verified"] is False
