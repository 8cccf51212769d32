"""E-mail addresses in API input are checked by email-validator (syntax, no DNS)."""

from __future__ import annotations

import pytest

from nibog.core.email_field import check_email
from tests.helpers import error_code


@pytest.mark.parametrize("address", [
    "priya@example.com", "priya.nair+events@example.co.in", "प्रिया@उदाहरण.भारत",
    "  spaced@example.com  ",
])
def test_good_addresses_pass(address):
    assert check_email(address) == address.strip()


@pytest.mark.parametrize("address", [
    "priya@@example.com", "priya@example", "priya..nair@example.com", ".priya@example.com",
    "priya@localhost", "priya@example.invalid", "priya@[127.0.0.1]", "priya@-example.com",
    "priya@example..com", "priya@exa mple.com",
])
def test_bad_addresses_are_refused(address):
    from marshmallow import ValidationError

    with pytest.raises(ValidationError, match="Not a valid email address"):
        check_email(address)


def test_the_api_refuses_what_marshmallows_regex_let_through(client):
    # A reserved domain that can never receive mail: marshmallow's pattern accepted it.
    resp = client.post("/api/auth/register", json={
        "email": "priya@example.invalid", "password": "a-long-password-1",
        "full_name": "Priya Nair",
    })
    assert resp.status_code == 422 and error_code(resp) == "validation_error"
    assert "email" in resp.get_json()["error"]["details"]
