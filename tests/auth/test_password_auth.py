"""Register, login, refresh, logout and password change (contract: Auth)."""

from __future__ import annotations

import pytest
from flask_jwt_extended import decode_token

from nibog.accounts.models import User
from nibog.core.errors import AppError
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from tests.auth.support import PASSWORD, bearer, login, make_user
from tests.helpers import error_code

USER_KEYS = {
    "id",
    "email",
    "phone",
    "full_name",
    "role",
    "email_verified",
    "phone_verified",
    "created_at",
}


def _users() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(User))

def register(client, **overrides):
    body = {"email": "Asha@Example.com", "password": "long-enough-pw", "full_name": "Asha Rao"}
    body.update(overrides)
    return client.post("/api/auth/register", json=body)


def test_register_returns_tokens_and_user_and_queues_welcome(client, db, outbox):
    resp = register(client, phone="+91 98765 43210")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert set(body["user"]) == USER_KEYS
    assert body["user"]["email"] == "asha@example.com"
    assert body["user"]["phone"] == "+919876543210"
    assert body["user"]["role"] == "parent"
    assert body["user"]["email_verified"] is False
    assert "+05:30" in body["user"]["created_at"]
    assert "password" not in resp.get_data(as_text=True)
    assert outbox.last("welcome")[0] == "asha@example.com"
    assert db.session.query(NotificationLog).filter_by(template="welcome").count() == 1
    me = client.get("/api/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.get_json()["email"] == "asha@example.com"


def test_register_rejects_duplicate_email_case_insensitively(client):
    assert register(client).status_code == 201
    resp = register(client, email="ASHA@example.COM")
    assert resp.status_code == 409
    assert error_code(resp) == "email_taken"
    assert _users() == 1


def test_register_validates_input(client):
    resp = register(client, password="short")
    assert resp.status_code == 422
    assert "password" in resp.get_json()["error"]["details"]
    resp = register(client, email="not-an-email")
    assert resp.status_code == 422 and "email" in resp.get_json()["error"]["details"]
    resp = register(client, phone="12345")
    assert resp.status_code == 422 and "phone" in resp.get_json()["error"]["details"]
    resp = client.post("/api/auth/register", data="nope", content_type="application/json")
    assert resp.status_code == 400


def test_register_rejects_taken_phone(client):
    make_user(phone="+919876543210")
    resp = register(client, phone="9876543210")
    assert resp.status_code == 409 and error_code(resp) == "phone_taken"
    assert _users() == 1


def test_login_is_case_insensitive_on_email(client):
    make_user(email="meera@example.com")
    resp = login(client, "  MEERA@Example.com ")
    assert resp.status_code == 200
    assert resp.get_json()["user"]["email"] == "meera@example.com"


def test_unknown_email_and_wrong_password_get_the_same_answer(client):
    make_user(email="meera@example.com")
    wrong_password = login(client, "meera@example.com", "not-the-password")
    unknown_email = login(client, "nobody@example.com", "not-the-password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.get_json() == unknown_email.get_json()
    assert error_code(wrong_password) == "invalid_credentials"


def test_unknown_email_still_pays_for_a_hash_verification(app, monkeypatch):
    """Same time for both: an unknown email runs a verification against a dummy hash."""
    from nibog.auth import passwords, service

    calls = []
    real = passwords.verify_password
    monkeypatch.setattr(service, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    with pytest.raises(AppError):
        service.authenticate("nobody@example.com", "whatever-pw")
    assert calls == [None]  # verify_password(None, ...) hashes against the dummy


def test_deactivated_user_cannot_log_in(client):
    make_user(email="gone@example.com", is_active_account=False)
    resp = login(client, "gone@example.com")
    assert resp.status_code == 401 and error_code(resp) == "invalid_credentials"


def test_refresh_with_refresh_token_gives_new_access_token(client):
    make_user(email="meera@example.com")
    tokens = login(client, "meera@example.com").get_json()
    resp = client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert resp.status_code == 200
    assert resp.get_json()["token_type"] == "Bearer" and resp.get_json()["expires_in"] == 900
    assert resp.get_json()["user"]["email"] == "meera@example.com"
    new_access = resp.get_json()["access_token"]
    assert client.get("/api/users/me", headers=bearer(new_access)).status_code == 200
    # An access token is not a refresh token, and vice versa.
    assert (
        client.post("/api/auth/refresh", headers=bearer(tokens["access_token"])).status_code == 401
    )
    assert client.get("/api/users/me", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_logout_revokes_access_and_its_refresh_token(app, client):
    make_user(email="meera@example.com")
    tokens = login(client, "meera@example.com").get_json()
    other_device = login(client, "meera@example.com").get_json()
    assert (
        client.post("/api/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    )
    resp = client.get("/api/users/me", headers=bearer(tokens["access_token"]))
    assert resp.status_code == 401
    assert (
        client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    )
    # The revocation lives in Redis with a TTL no longer than the token's life.
    from nibog.extensions import get_redis

    jti = decode_token(tokens["access_token"])["jti"]
    assert 0 < get_redis().ttl(f"revoked:{jti}") <= 15 * 60
    # Another session of the same user is untouched.
    assert (
        client.get("/api/users/me", headers=bearer(other_device["access_token"])).status_code == 200
    )


def test_logout_ends_every_access_token_of_the_session(client):
    """Access tokens got by refreshing belong to the same sign-in: logging out with one of
    them ends the others too."""
    make_user(email="meera@example.com")
    tokens = login(client, "meera@example.com").get_json()
    refreshed = client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"]))
    second = refreshed.get_json()["access_token"]
    assert client.post("/api/auth/logout", headers=bearer(second)).status_code == 204
    assert client.get("/api/users/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.get("/api/users/me", headers=bearer(second)).status_code == 401


def test_no_or_garbage_token_is_401(client):
    assert error_code(client.get("/api/users/me")) == "unauthorized"
    resp = client.get("/api/users/me", headers=bearer("not.a.jwt"))
    assert resp.status_code == 401


def test_change_password_revokes_other_tokens_and_returns_fresh_pair(client, db):
    user = make_user(email="meera@example.com")
    first = login(client, "meera@example.com").get_json()
    second = login(client, "meera@example.com").get_json()
    resp = client.put(
        "/api/auth/change-password",
        json={"current_password": PASSWORD, "new_password": "brand-new-password"},
        headers=bearer(first["access_token"]),
    )
    assert resp.status_code == 200
    fresh = resp.get_json()
    for old in (first, second):
        assert client.get("/api/users/me", headers=bearer(old["access_token"])).status_code == 401
        assert (
            client.post("/api/auth/refresh", headers=bearer(old["refresh_token"])).status_code
            == 401
        )
    assert client.get("/api/users/me", headers=bearer(fresh["access_token"])).status_code == 200
    assert login(client, "meera@example.com").status_code == 401
    assert login(client, "meera@example.com", "brand-new-password").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).token_version == 1


def test_change_password_requires_current_password(client):
    make_user(email="meera@example.com")
    token = login(client, "meera@example.com").get_json()["access_token"]
    resp = client.put(
        "/api/auth/change-password",
        json={"current_password": "wrong-one", "new_password": "brand-new-password"},
        headers=bearer(token),
    )
    assert resp.status_code == 401 and error_code(resp) == "invalid_credentials"
    resp = client.put(
        "/api/auth/change-password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=bearer(token),
    )
    assert resp.status_code == 422
    assert client.get("/api/users/me", headers=bearer(token)).status_code == 200


def test_deactivating_a_user_kills_their_tokens_at_once(client, db):
    user = make_user(email="meera@example.com")
    token = login(client, "meera@example.com").get_json()["access_token"]
    user.is_active_account = False
    db.session.commit()
    resp = client.get("/api/users/me", headers=bearer(token))
    assert resp.status_code == 401 and error_code(resp) == "unauthorized"


def test_openapi_documents_the_auth_and_account_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in (
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/login/google",
        "/api/auth/login/phone",
        "/api/auth/login/phone/verify",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/change-password",
        "/api/auth/forgot-password",
        "/api/auth/reset-password",
        "/api/auth/verify-email",
        "/api/users/me",
        "/api/users/me/children/{child_id}",
        "/api/users/me/favorites/{event_id}",
        "/api/users/me/verify-phone/confirm",
        "/api/admin/users/{user_id}",
    ):
        assert path in paths, path
    login_doc = paths["/api/auth/login"]["post"]
    assert "requestBody" in login_doc and "200" in login_doc["responses"]


def test_a_revocation_that_rolled_back_logs_the_user_out_once_not_for_minutes(client, db):
    """A change that bumps the token version is published to Redis before its commit; if the
    transaction then rolls back, Redis is a version ahead. The next sign-in catches the account
    up, so its tokens work at once instead of being refused until the Redis key expires."""
    from nibog.accounts.models import User
    from nibog.core import boundary

    user = make_user(email="meera@example.com")
    user.role = "staff"
    db.session.flush()  # the bump reaches Redis here...
    boundary.rollback()  # ...and the change never commits
    assert db.session.get(User, user.id).role == "parent"
    fresh = login(client, "meera@example.com")
    assert fresh.status_code == 200
    assert client.get("/api/users/me",
                      headers=bearer(fresh.get_json()["access_token"])).status_code == 200


def test_production_passwords_use_owasp_argon2id_and_old_hashes_are_replaced():
    # In an app that is not testing: the production parameters. argon2-cffi's own
    # default (64 MiB, 3 passes, 4 lanes) took both cores for 175 ms per sign-in; OWASP's
    # 19 MiB / 2 passes / 1 lane is the set kept, and a hash made with the old default is
    # replaced at the next sign-in.
    from argon2 import PasswordHasher
    from flask import Flask

    from nibog.auth.passwords import hash_password, needs_rehash, verify_password

    with Flask("production-like").app_context():
        new = hash_password("a long passphrase")
        assert new.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert verify_password(new, "a long passphrase")
        assert not needs_rehash(new)
        old_default = PasswordHasher().hash("a long passphrase")
        assert needs_rehash(old_default)
        assert verify_password(old_default, "a long passphrase")  # still signs in, then rehashed
