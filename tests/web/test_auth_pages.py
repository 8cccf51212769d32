"""Sign-in pages: password, registration, SMS code, forgotten password, sign-out."""

from __future__ import annotations

from nibog.accounts.models import User
from tests.auth.support import PASSWORD, make_user
from tests.helpers import html, sign_in
from tests.web.conftest import csrf_token


def test_login_signs_in_and_goes_back_to_next(client, db):
    user = make_user(email="asha@example.com")
    resp = client.post("/login", data={"email": "Asha@Example.com", "password": PASSWORD,
                                       "next": "/events?age_months=20"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/events?age_months=20"
    page = html(client.get("/events"))
    assert "My account" in page and "Sign out" in page
    assert db.session.get(User, user.id).last_login_at is not None


def test_login_never_redirects_off_site(client, db):
    make_user(email="asha@example.com")
    for target in ("https://evil.example/x", "//evil.example/x", "/\\evil.example"):
        resp = client.post("/login", data={"email": "asha@example.com", "password": PASSWORD,
                                           "next": target})
        assert resp.headers["Location"] == "/", target
        client.post("/logout")


def test_wrong_password_is_401_with_the_email_kept_and_no_password_echoed(client, db):
    make_user(email="asha@example.com")
    resp = client.post("/login", data={"email": "asha@example.com", "password": "wrong-one"})
    assert resp.status_code == 401
    page = html(resp)
    assert "Email or password is incorrect." in page
    assert 'value="asha@example.com"' in page and "wrong-one" not in page


def test_empty_login_form_says_what_is_missing_next_to_each_field(client, db):
    resp = client.post("/login", data={"email": "", "password": ""})
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="email-error"' in page and "Enter your email." in page
    assert 'id="password-error"' in page and 'aria-invalid="true"' in page


def test_login_page_has_the_contract_fields(client):
    page = html(client.get("/login?next=/book/3"))
    for name in ('name="email"', 'name="password"', 'name="next"', 'value="/book/3"'):
        assert name in page
    assert "Sign in with Google" not in page


def test_google_button_when_configured_leads_to_google_with_a_nonce(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", "nibog-test.apps.googleusercontent.com")
    assert "Sign in with Google" in html(client.get("/login"))
    resp = client.get("/login/google?next=/events")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert "response_mode=form_post" in resp.headers["Location"]
    assert "g_nonce=" in resp.headers["Set-Cookie"]
    # A callback that was not started here is refused.
    bad = client.post("/login/google/callback", data={"state": "forged", "id_token": "x"})
    assert bad.status_code == 302 and bad.headers["Location"].endswith("/login")


def test_login_without_csrf_token_is_refused_and_with_it_works(client, db, csrf_on):
    make_user(email="asha@example.com")
    resp = client.post("/login", data={"email": "asha@example.com", "password": PASSWORD})
    assert resp.status_code == 400
    token = csrf_token(client, "/login")
    resp = client.post("/login", data={"email": "asha@example.com", "password": PASSWORD,
                                       "csrf_token": token})
    assert resp.status_code == 302


def test_register_creates_the_account_and_signs_in(client, db, outbox):
    resp = client.post("/register", data={
        "full_name": "Ravi Kumar", "email": "ravi@example.com", "phone": "98765 43210",
        "password": "long-enough-pw", "confirm": "long-enough-pw", "next": "/book/1"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/book/1"
    user = db.session.query(User).filter_by(email="ravi@example.com").one()
    assert user.phone == "+919876543210"
    assert outbox.last("welcome")[0] == "ravi@example.com"


def test_register_errors_keep_the_values(client, db):
    make_user(email="taken@example.com")
    resp = client.post("/register", data={
        "full_name": "Ravi Kumar", "email": "taken@example.com", "phone": "",
        "password": "long-enough-pw", "confirm": "long-enough-pw"})
    assert resp.status_code == 409
    page = html(resp)
    assert 'id="email-error"' in page and "already exists" in page
    assert 'value="Ravi Kumar"' in page and 'value="taken@example.com"' in page

    resp = client.post("/register", data={
        "full_name": "Ravi", "email": "not-an-email", "password": "short", "confirm": "other"})
    assert resp.status_code == 422
    page = html(resp)
    assert "Enter an email address" in page and "8 to 128" in page and "passwords differ" in page
    assert 'value="not-an-email"' in page


def test_logout_needs_a_post_and_signs_out(client, db):
    user = make_user()
    sign_in(client, user)
    assert client.get("/logout").status_code == 405
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert "Sign in" in html(client.get("/"))


def test_password_change_elsewhere_signs_this_browser_out(client, db):
    user = make_user()
    sign_in(client, user)
    assert "My account" in html(client.get("/"))
    user.token_version += 1  # what a password change or reset does
    db.session.commit()
    from flask import g

    g.pop("_login_user", None)
    assert "My account" not in html(client.get("/"))


def test_phone_code_sign_in(client, db, outbox):
    resp = client.post("/login/phone", data={"phone": "98123 45678", "next": "/events"})
    assert resp.status_code == 200
    page = html(resp)
    assert "Enter the code we sent to +919812345678" in page
    code = outbox.last("login_otp")[1]["otp"]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    resp = client.post("/login/phone/verify",
                       data={"phone": "+919812345678", "otp": wrong, "next": "/events"})
    assert resp.status_code == 422 and "That code is not right." in html(resp)
    resp = client.post("/login/phone/verify",
                       data={"phone": "+919812345678", "otp": code, "next": "/events"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/events"
    assert db.session.query(User).filter_by(phone="+919812345678").one().phone_verified


def test_bad_phone_number_is_explained_with_the_value_kept(client, db):
    resp = client.post("/login/phone", data={"phone": "12"})
    assert resp.status_code == 422
    page = html(resp)
    assert "Not a valid phone number" in page and 'value="12"' in page


def test_forgot_password_answers_the_same_for_any_address(client, db, outbox):
    make_user(email="asha@example.com")
    known = client.post("/forgot-password", data={"email": "asha@example.com"})
    unknown = client.post("/forgot-password", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "a link to set a new password is on its way" in html(known)
    assert "a link to set a new password is on its way" in html(unknown)
    assert len(outbox.of("password_reset")) == 1


def test_login_failures_are_rate_limited_per_account_like_the_api(client, app, db, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_ACCOUNT", "3 per 15 minutes")
    make_user(email="asha@example.com")
    for _ in range(3):
        assert client.post("/login", data={"email": "asha@example.com",
                                           "password": "nope"}).status_code == 401
    resp = client.post("/login", data={"email": "asha@example.com", "password": PASSWORD})
    assert resp.status_code == 429
    # Another account is not locked by this one's failures.
    make_user(email="ravi@example.com")
    assert client.post("/login", data={"email": "ravi@example.com",
                                       "password": PASSWORD}).status_code == 302


def test_auth_pages_render_in_hindi(client):
    client.set_cookie("lang", "hi")
    for url in ("/login", "/register", "/login/phone", "/forgot-password"):
        resp = client.get(url)
        assert resp.status_code == 200 and '<html lang="hi">' in html(resp), url
