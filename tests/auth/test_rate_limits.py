"""Rate limits: login per account (failures only) and per IP, register, OTP, forgot-password.

The 429s carry Retry-After and the contract's error shape.
"""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from tests.auth.support import PASSWORD, login, make_user
from tests.helpers import error_code


def assert_rate_limited(resp):
    assert resp.status_code == 429
    body = resp.get_json()
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["message"]
    assert int(resp.headers["Retry-After"]) > 0


def test_ten_failed_logins_lock_the_account_for_everyone(client):
    make_user(email="meera@example.com")
    for n in range(10):
        resp = login(
            client,
            "meera@example.com",
            "wrong-password",
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        )  # spread over IPs: the account limit still counts
        assert resp.status_code == 401
    resp = login(client, "MEERA@example.com", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert_rate_limited(resp)
    assert int(resp.headers["Retry-After"]) <= 15 * 60
    # Another account is not affected.
    make_user(email="ravi@example.com")
    assert login(client, "ravi@example.com").status_code == 200


def test_successful_logins_do_not_count_towards_the_account_limit(client):
    make_user(email="meera@example.com")
    for n in range(12):
        ip = {"REMOTE_ADDR": f"10.0.0.{n}"}  # one IP would hit the per-IP limit first
        assert login(client, "meera@example.com", environ_base=ip).status_code == 200
    for n in range(9):
        ip = {"REMOTE_ADDR": f"10.0.1.{n}"}
        assert (
            login(client, "meera@example.com", "wrong-password", environ_base=ip).status_code == 401
        )
    assert login(client, "meera@example.com").status_code == 200


def test_login_is_limited_per_ip(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_IP", "5 per minute")
    for n in range(5):
        assert login(client, f"user{n}@example.com", "whatever-pw").status_code == 401
    assert_rate_limited(login(client, "user9@example.com", "whatever-pw"))
    other_ip = login(
        client, "user9@example.com", "whatever-pw", environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other_ip.status_code == 401


def test_forged_forwarded_for_buys_no_fresh_attempts(app, client, monkeypatch):
    """TRUSTED_PROXY_COUNT=0: X-Forwarded-For is the client's word, so it is ignored."""
    assert app.config["TRUSTED_PROXY_COUNT"] == 0
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_IP", "5 per minute")
    for n in range(5):
        resp = login(
            client,
            f"user{n}@example.com",
            "pw-pw-pw-pw",
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        )
        assert resp.status_code == 401
    resp = login(
        client, "user9@example.com", "pw-pw-pw-pw", headers={"X-Forwarded-For": "198.51.100.7"}
    )
    assert_rate_limited(resp)


def test_control_behind_a_trusted_proxy_forwarded_for_is_the_client(app, client, monkeypatch):
    """Control for the test above: with one trusted proxy each forwarded address is its own
    client, so the same requests are NOT limited - the forged-header test can fail."""
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_IP", "5 per minute")
    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1))
    for n in range(7):
        resp = login(
            client,
            f"user{n}@example.com",
            "pw-pw-pw-pw",
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        )
        assert resp.status_code == 401


def test_register_is_limited_per_ip(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_REGISTER", "2 per hour")
    for n in range(2):
        resp = client.post(
            "/api/auth/register",
            json={"email": f"p{n}@example.com", "password": "long-enough-pw", "full_name": "P"},
        )
        assert resp.status_code == 201
    resp = client.post(
        "/api/auth/register",
        json={"email": "p9@example.com", "password": "long-enough-pw", "full_name": "P"},
    )
    assert_rate_limited(resp)


def test_forgot_password_is_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_FORGOT_PASSWORD", "3 per 15 minutes")
    for _ in range(3):
        assert (
            client.post("/api/auth/forgot-password", json={"email": "x@example.com"}).status_code
            == 202
        )
    assert_rate_limited(client.post("/api/auth/forgot-password", json={"email": "y@example.com"}))


def test_otp_request_and_verify_are_limited_per_ip(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_OTP_REQUEST", "2 per hour")
    monkeypatch.setitem(app.config, "RATELIMIT_OTP_VERIFY", "3 per 15 minutes")
    for n in range(2):
        assert (
            client.post("/api/auth/login/phone", json={"phone": f"+9198765000{n}0"}).status_code
            == 202
        )
    assert_rate_limited(client.post("/api/auth/login/phone", json={"phone": "+919876500099"}))
    for _ in range(3):
        resp = client.post(
            "/api/auth/login/phone/verify", json={"phone": "+919876500000", "otp": "000000"}
        )
        assert resp.status_code == 401
    resp = client.post(
        "/api/auth/login/phone/verify", json={"phone": "+919876500000", "otp": "000000"}
    )
    assert_rate_limited(resp)
    assert error_code(resp) == "rate_limited"


def test_a_numbers_own_lockout_keeps_its_retry_after_when_checking_codes(app, client):
    """A number out of wrong guesses for the hour is refused with the time its hour has left,
    on the sign-in and on the profile's phone confirmation - not stretched to the reset of the
    per-IP limit (15 minutes) the view also has."""
    from nibog.auth import otp
    from nibog.extensions import get_redis
    from tests.auth.support import bearer

    phone = "+919876500011"
    user = make_user(email="locked@example.com", phone=phone, phone_verified=False)
    access = login(client, "locked@example.com").get_json()["access_token"]
    for purpose in ("login", "verify"):
        get_redis().set(otp.fails_key(purpose, phone), otp.OTP_MAX_FAILS, ex=60)
    signed_in = client.post("/api/auth/login/phone/verify", json={"phone": phone, "otp": "000000"})
    confirmed = client.post("/api/users/me/verify-phone/confirm", json={"otp": "000000"},
                            headers=bearer(access))
    for resp in (signed_in, confirmed):
        assert_rate_limited(resp)
        assert 50 <= int(resp.headers["Retry-After"]) <= 60
    assert user.phone_verified is False
