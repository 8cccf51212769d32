"""Sign-in races on parallel connections: a password sign-in racing a password reset or a
deactivation; one reset link, or one SMS code, used twice at once.

The sign-in checks the password (slow on purpose), and the reset or the deactivation commits
in that moment. Whatever the sign-in then does, no token may come out of a password that is no
longer the account's, or for an account that is no longer active; and the sign-in must not
write the old password back (its rehash of an old-parameter hash).
"""

from __future__ import annotations

import threading

from nibog.accounts.models import User
from nibog.auth import otp, service
from nibog.auth.passwords import verify_password
from nibog.auth.tokens import make_reset_token
from nibog.core import boundary, locking
from nibog.extensions import db
from tests.concurrency.race import interleave
from tests.factories import PASSWORD, UserFactory
from tests.helpers import auth_headers

NEW_PASSWORD = "a-brand-new-password"


def sign_in_held_after_the_password_check(app, monkeypatch, email, meanwhile):
    """Sign in on a thread that stops right after its password check until ``meanwhile()``
    (another request, on another connection) has committed; returns the sign-in's answer."""
    checked, done = threading.Event(), threading.Event()
    real = service.verify_password
    paused = []

    def verify_then_wait(password_hash, password):
        ok = real(password_hash, password)
        if not paused:
            paused.append(1)
            checked.set()
            assert done.wait(30)
        return ok

    monkeypatch.setattr(service, "verify_password", verify_then_wait)
    answer = {}

    def sign_in():
        answer["resp"] = app.test_client().post(
            "/api/auth/login", json={"email": email, "password": PASSWORD})

    thread = threading.Thread(target=sign_in, daemon=True)
    thread.start()
    try:
        assert checked.wait(30)
        meanwhile()
    finally:
        done.set()
        thread.join(60)
    assert not thread.is_alive()
    return answer["resp"]


def test_a_sign_in_that_checked_the_old_password_gets_nothing_after_a_reset(app, monkeypatch):
    # The factory's hash has production parameters: this sign-in would rehash it.
    user = UserFactory(email="asha@example.com")
    with app.test_request_context():
        token = make_reset_token(user)
    client = app.test_client()

    def reset():
        resp = client.post("/api/auth/reset-password",
                           json={"token": token, "password": NEW_PASSWORD})
        assert resp.status_code == 200, resp.get_json()

    resp = sign_in_held_after_the_password_check(app, monkeypatch, user.email, reset)
    assert resp.status_code == 401, resp.get_json()
    assert resp.get_json()["error"]["code"] == "invalid_credentials"
    monkeypatch.undo()
    # The reset's password is the account's; the old one (rehashed by the sign-in) is not.
    new = client.post("/api/auth/login", json={"email": user.email, "password": NEW_PASSWORD})
    assert new.status_code == 200
    old = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401


def test_control_without_the_sign_in_lock_the_old_password_signs_in_and_wins(app, monkeypatch):
    monkeypatch.setattr(locking.guards, "sign_in_lock", False)
    user = UserFactory(email="asha@example.com")
    with app.test_request_context():
        token = make_reset_token(user)
    client = app.test_client()

    def reset():
        resp = client.post("/api/auth/reset-password",
                           json={"token": token, "password": NEW_PASSWORD})
        assert resp.status_code == 200, resp.get_json()

    resp = sign_in_held_after_the_password_check(app, monkeypatch, user.email, reset)
    # Tokens for a password that was just replaced - and its rehash wrote the old password
    # back over the reset's.
    assert resp.status_code == 200, resp.get_json()
    monkeypatch.undo()
    assert client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}
                       ).status_code == 200
    assert client.post("/api/auth/login", json={"email": user.email, "password": NEW_PASSWORD}
                       ).status_code == 401


def test_a_sign_in_racing_a_deactivation_gets_no_token(app, monkeypatch):
    user = UserFactory(email="asha@example.com")
    admin = UserFactory(role="admin")
    client = app.test_client()
    with app.test_request_context():
        admin_headers = auth_headers(admin)

    def deactivate():
        resp = client.put(f"/api/admin/users/{user.id}", json={"is_active": False},
                          headers=admin_headers)
        assert resp.status_code == 200, resp.get_json()

    resp = sign_in_held_after_the_password_check(app, monkeypatch, user.email, deactivate)
    # Before the fix: 200 with a token at the deactivation's new version.
    assert resp.status_code == 401, resp.get_json()


def _one_reset_link_used_twice(app):
    """Two resets with one link (a double click, two tabs): the second runs while the first
    has checked the link and not yet set its password."""

    user = UserFactory(email="asha@example.com")
    with app.test_request_context():
        token = make_reset_token(user)
    boundary.commit()
    user_id = user.id
    passwords = [NEW_PASSWORD, "another-new-password"]
    results = interleave(
        app,
        lambda _: service.reset_password(token, passwords[0]).id,
        lambda _: service.reset_password(token, passwords[1]).id,
        "reset_checked",
    )
    db.session.expire_all()
    stored = db.session.get(User, user_id).password_hash
    return results, [verify_password(stored, p) for p in passwords]


def test_one_reset_link_used_twice_at_once_resets_once(app):
    results, works = _one_reset_link_used_twice(app)
    # The second waited for the first, then found the link spent.
    assert results[1] == ("error", "invalid_token")
    assert results[0][0] == "ok"
    assert works == [True, False]


def test_control_without_the_account_lock_one_link_resets_twice(app, monkeypatch):
    monkeypatch.setattr(locking.guards, "reset_lock", False)
    results, works = _one_reset_link_used_twice(app)
    # Both were told their new password is set; only the last one written works.
    assert [r[0] for r in results] == ["ok", "ok"]
    assert works == [True, False]


def _one_code_used_twice(app):
    """Two sign-ins with one SMS code at once (a double tap, a replayed request): the second
    runs while the first has matched the code and not yet used it up."""
    phone = "+919812345678"
    user = UserFactory(phone=phone, phone_verified=True)
    boundary.commit()
    code = otp.issue_code(service.OTP_LOGIN, phone)

    def sign_in(_):
        return service.verify_phone_login(phone, code).id

    return interleave(app, sign_in, sign_in, "otp_checked"), user.id


def test_one_code_used_twice_at_once_signs_in_once(app):
    results, user_id = _one_code_used_twice(app)
    # The second used the code up; the first, though its code matched, finds it gone.
    assert results == [("error", "otp_expired"), ("ok", user_id)]


def test_control_without_single_use_one_code_signs_in_twice(app, monkeypatch):
    monkeypatch.setattr(locking.guards, "otp_consume_once", False)
    results, user_id = _one_code_used_twice(app)
    assert results == [("ok", user_id), ("ok", user_id)]


def test_control_without_the_sign_in_lock_a_deactivated_account_gets_a_token(app, monkeypatch):
    monkeypatch.setattr(locking.guards, "sign_in_lock", False)
    user = UserFactory(email="asha@example.com")
    admin = UserFactory(role="admin")
    client = app.test_client()
    with app.test_request_context():
        admin_headers = auth_headers(admin)

    def deactivate():
        resp = client.put(f"/api/admin/users/{user.id}", json={"is_active": False},
                          headers=admin_headers)
        assert resp.status_code == 200, resp.get_json()

    resp = sign_in_held_after_the_password_check(app, monkeypatch, user.email, deactivate)
    assert resp.status_code == 200 and resp.get_json()["access_token"], resp.get_json()
