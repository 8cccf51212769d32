"""The site's sign-in and lookup forms are rate limited as the API is: past the configured limit a
visitor gets 429 and a page saying to wait (not a blank or JSON answer), and where the site and
the API share a bucket, tries on one face count on the other, so neither is a way around it."""

from __future__ import annotations

import pytest

from nibog.accounts.models import User
from tests.auth.support import make_user
from tests.helpers import html

WAIT = "Please wait a little and try again."


def _refused(resp) -> None:
    assert resp.status_code == 429
    assert resp.mimetype == "text/html"
    page = html(resp)
    assert "Too many tries" in page and WAIT in page
    assert resp.headers.get("Retry-After")


@pytest.fixture
def limit(app, monkeypatch):
    def set_limit(name: str, value: str) -> None:
        monkeypatch.setitem(app.config, name, value)

    return set_limit


def test_phone_code_requests_are_limited_per_address_and_shared_with_the_api(client, db, limit):
    limit("RATELIMIT_OTP_REQUEST", "2 per hour")
    # Different numbers: the per-number resend gap is not what is tested here.
    for n in range(2):
        resp = client.post("/login/phone", data={"phone": f"98123 4567{n}"})
        assert resp.status_code == 200 and "Enter the code" in html(resp)
    _refused(client.post("/login/phone", data={"phone": "98123 45679"}))
    assert client.post("/api/auth/login/phone", json={"phone": "+919812345679"}).status_code == 429


def test_api_phone_code_requests_count_on_the_site(client, db, limit):
    limit("RATELIMIT_OTP_REQUEST", "2 per hour")
    for n in range(2):
        assert client.post("/api/auth/login/phone",
                           json={"phone": f"+91981234560{n}"}).status_code == 202
    _refused(client.post("/login/phone", data={"phone": "98123 45609"}))


def test_register_is_limited_and_shares_the_apis_bucket(client, db, limit, outbox):
    limit("RATELIMIT_REGISTER", "2 per hour")
    for n in range(2):
        resp = client.post("/register", data={
            "full_name": f"Parent {n}", "email": f"parent{n}@example.com",
            "password": "a-Long-passw0rd", "confirm": "a-Long-passw0rd"})
        assert resp.status_code in (200, 302, 422)
        client.post("/logout")
    resp = client.post("/register", data={
        "full_name": "Parent 9", "email": "parent9@example.com",
        "password": "a-Long-passw0rd", "confirm": "a-Long-passw0rd"})
    _refused(resp)
    api = client.post("/api/auth/register", json={
        "full_name": "Parent 8", "email": "parent8@example.com", "password": "a-Long-passw0rd"})
    assert api.status_code == 429
    assert not db.session.query(User).filter(
        User.email.in_(["parent9@example.com", "parent8@example.com"])).count()


def test_forgot_password_is_limited_per_address_and_per_email(client, app, db, limit, outbox):
    limit("RATELIMIT_FORGOT_PASSWORD", "2 per 15 minutes")
    make_user(email="asha@example.com")
    for _ in range(2):
        assert client.post("/forgot-password",
                           data={"email": "asha@example.com"}).status_code == 200
    _refused(client.post("/forgot-password", data={"email": "asha@example.com"}))
    # The API's form of the same request is in the same buckets.
    assert client.post("/api/auth/forgot-password",
                       json={"email": "asha@example.com"}).status_code == 429
    assert len(outbox.of("password_reset")) == 2


def test_forgot_password_per_email_bucket_is_shared_across_addresses(client, app, db, limit,
                                                                        outbox):
    limit("RATELIMIT_FORGOT_PASSWORD", "2 per 15 minutes")
    make_user(email="asha@example.com")
    # Two tries at this e-mail from "another" client (the API) use up its per-email budget.
    for _ in range(2):
        assert client.post("/api/auth/forgot-password",
                           json={"email": "asha@example.com"}).status_code == 202
    _refused(client.post("/forgot-password", data={"email": "ASHA@example.com "}))


def test_guest_lookup_is_limited_per_address(client, db):
    from nibog.booking.api import GUEST_LOOKUP_LIMIT

    allowed = int(GUEST_LOOKUP_LIMIT.split()[0])
    wrong = {"booking_number": "NIB-26-NOSUCH", "contact": "meera@example.com",
             "access_code": "WRONGCODE1"}
    for _ in range(allowed):
        resp = client.post("/bookings/lookup", data=wrong)
        assert resp.status_code == 404 and "No booking matches" in html(resp)
    _refused(client.post("/bookings/lookup", data=wrong))
    # Guessing codes through the cancel form, or through the API, is the same budget.
    _refused(client.post("/bookings/1/cancel", data={"reason": ""}))
    assert client.post("/api/bookings/guest/lookup", json={
        "booking_number": "NIB-26-NOSUCH", "email": "meera@example.com"}).status_code == 429


def test_api_guest_lookups_count_on_the_site(client, db):
    from nibog.booking.api import GUEST_LOOKUP_LIMIT

    for _ in range(int(GUEST_LOOKUP_LIMIT.split()[0])):
        assert client.post("/api/bookings/guest/lookup", json={
            "booking_number": "NIB-26-NOSUCH", "email": "meera@example.com"}).status_code == 404
    _refused(client.post("/bookings/lookup", data={
        "booking_number": "NIB-26-NOSUCH", "contact": "meera@example.com",
        "access_code": "WRONGCODE1"}))
