"""A parent's account pages: overview, profile (with the language of their messages), password,
deleting the account. Every page: signed-in only, values kept on errors, CSRF, both languages."""

from __future__ import annotations

import pytest

from nibog.accounts.models import User
from nibog.core import boundary
from nibog.extensions import db
from tests.factories import CityFactory, UserFactory
from tests.web.support import PASSWORD, csrf_on, csrf_token, hindi, html, make_user, sign_in

PAGES = ["/account", "/account/profile", "/account/password", "/account/delete",
         "/account/children", "/account/bookings", "/account/favorites", "/account/waiting-list"]


def _user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


@pytest.mark.parametrize("path", PAGES)
def test_every_account_page_asks_a_visitor_to_sign_in_and_comes_back(client, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")
    assert path.replace("/", "%2F") in resp.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
def test_every_account_page_renders_in_english_and_hindi(client, path):
    sign_in(client, full_name="Asha Rao")
    en = client.get(path)
    assert en.status_code == 200 and '<html lang="en">' in html(en)
    hindi(client)
    hi = client.get(path)
    assert hi.status_code == 200 and '<html lang="hi">' in html(hi)
    assert "मेरा खाता" in html(hi)  # "My account", the section menu


def test_sign_in_then_back_to_the_account_page_asked_for(client):
    user = make_user()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "next": "/account/children"})
    assert resp.headers["Location"].endswith("/account/children")


def test_overview_greets_and_shows_the_parents_details(client):
    city = CityFactory(name="Hyderabad")
    user = sign_in(client, full_name="Asha Rao", city_id=city.id)
    page = html(client.get("/account"))
    assert "Asha Rao" in page and "Hyderabad" in page and user.email in page
    assert "No upcoming bookings." in page


# --- profile ------------------------------------------------------------------------------------


def test_profile_saves_name_phone_city_and_language(client):
    city = CityFactory(name="Pune")
    user = sign_in(client)
    resp = client.post("/account/profile", data={
        "full_name": "Ravi Kumar", "email": user.email, "phone": "98765 43210",
        "city_id": str(city.id), "language": "hi"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/account/profile")
    saved = _user(user.id)
    assert (saved.full_name, saved.phone, saved.city_id, saved.language) == (
        "Ravi Kumar", "+919876543210", city.id, "hi")
    page = html(client.get("/account/profile"))
    assert "Your profile is saved." in page and 'value="Ravi Kumar"' in page


def test_profile_errors_sit_next_to_their_field_and_keep_the_values(client):
    UserFactory(email="taken@example.com")
    user = sign_in(client)
    saved = (user.full_name, user.email)
    resp = client.post("/account/profile", data={
        "full_name": "", "email": "not-an-email", "phone": "98765", "language": "en"})
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="full_name-error"' in page and "Enter your name." in page
    assert 'id="email-error"' in page and 'value="not-an-email"' in page
    resp = client.post("/account/profile", data={
        "full_name": "Ravi", "email": "taken@example.com", "language": "en"})
    assert resp.status_code == 409
    page = html(resp)
    assert "An account with this email already exists" in page
    assert 'value="taken@example.com"' in page and 'value="Ravi"' in page
    assert (_user(user.id).full_name, _user(user.id).email) == saved  # nothing saved


def test_profile_refuses_a_language_the_site_does_not_speak(client):
    user = sign_in(client)
    resp = client.post("/account/profile", data={
        "full_name": "Ravi", "email": user.email, "language": "fr"})
    assert resp.status_code == 422 and 'id="language-error"' in html(resp)
    assert _user(user.id).language == "en"


def test_a_new_email_is_unconfirmed_and_the_link_can_be_sent(client, outbox):
    sign_in(client)
    client.post("/account/profile", data={"full_name": "Ravi", "email": "new@example.com",
                                          "language": "en"})
    page = html(client.get("/account/profile"))
    assert "is not confirmed yet" in page
    resp = client.post("/account/verify-email")
    assert resp.status_code == 303
    to, _ctx = outbox.last("verify_email")
    assert to == "new@example.com"


def test_profile_form_refuses_a_post_without_its_csrf_token(client, app):
    user = sign_in(client)
    name = user.full_name
    with csrf_on(app):
        resp = client.post("/account/profile", data={
            "full_name": "Mallory", "email": user.email, "language": "en"})
        assert resp.status_code == 400
        assert _user(user.id).full_name == name
        token = csrf_token(html(client.get("/account/profile")))
        resp = client.post("/account/profile", data={
            "full_name": "Ravi", "email": user.email, "language": "en", "csrf_token": token})
        assert resp.status_code == 303 and _user(user.id).full_name == "Ravi"


def test_the_site_language_at_sign_up_becomes_the_language_of_the_messages(client):
    hindi(client)
    client.post("/register", data={"full_name": "Sita Devi", "email": "sita@example.com",
                                   "password": PASSWORD, "confirm": PASSWORD})
    assert db.session.query(User).filter_by(email="sita@example.com").one().language == "hi"


# --- password -----------------------------------------------------------------------------------


def test_password_change_keeps_this_browser_signed_in_and_ends_the_others(client, app):
    user = sign_in(client)
    other = app.test_client()
    sign_in(other, user)
    resp = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "a-brand-new-one",
        "confirm": "a-brand-new-one"})
    assert resp.status_code == 303
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302  # signed out there
    assert client.post("/api/auth/login", json={
        "email": user.email, "password": "a-brand-new-one"}).status_code == 200


def test_password_change_with_a_wrong_current_password_says_so_next_to_it(client):
    sign_in(client)
    resp = client.post("/account/password", data={
        "current_password": "wrong-one", "new_password": "a-brand-new-one",
        "confirm": "a-brand-new-one"})
    assert resp.status_code == 401
    assert 'id="current_password-error"' in html(resp)
    resp = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "short", "confirm": "other"})
    assert resp.status_code == 422
    page = html(resp)
    assert "Use 8 to 128 characters." in page and "The two passwords differ." in page
    assert "wrong-one" not in page  # passwords are never sent back


def test_an_account_without_password_is_told_how_to_set_one(client):
    user = make_user(password_hash=None)
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    page = html(client.get("/account/password"))
    assert "has no password yet" in page


# --- deleting the account -----------------------------------------------------------------------


def test_delete_needs_the_password_and_the_tick(client):
    user = sign_in(client)
    resp = client.post("/account/delete", data={"password": ""})
    assert resp.status_code == 422
    page = html(resp)
    assert "Enter your password to confirm." in page and "Tick the box to confirm." in page
    resp = client.post("/account/delete", data={"password": "wrong", "understood": "y"})
    assert resp.status_code == 422 and "Your password is not right." in html(resp)
    assert _user(user.id).is_active


def test_delete_anonymises_the_account_and_signs_out(client):
    user = sign_in(client, full_name="Asha Rao")
    resp = client.post("/account/delete", data={"password": PASSWORD, "understood": "y"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/")
    gone = _user(user.id)
    assert gone.email is None and gone.full_name == "Deleted user" and not gone.is_active
    assert client.get("/account").status_code == 302
    boundary.rollback()


def test_hindi_pages_show_hindi_errors(client):
    sign_in(client)
    hindi(client)
    resp = client.post("/account/delete", data={"password": ""})
    assert "पुष्टि" in html(resp)  # "confirm"
