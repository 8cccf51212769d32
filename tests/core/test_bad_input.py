"""Bad input that only a lower layer notices is still a clear 4xx, never a 500."""

from __future__ import annotations

from tests.auth.support import bearer, login, make_user
from tests.helpers import error_code


def test_json_nested_deeper_than_the_parser_goes_is_400(client):
    make_user(email="meera@example.com")
    auth = bearer(login(client, "meera@example.com").get_json()["access_token"])
    body = b"[" * 50_000
    for path, headers in (("/api/auth/login", {}), ("/api/bookings", auth)):
        resp = client.post(path, data=body, content_type="application/json", headers=headers)
        assert resp.status_code == 400, (path, resp.get_json())
        assert error_code(resp) == "bad_request"


def test_text_with_a_nul_character_is_422_and_changes_nothing(client):
    make_user(email="meera@example.com", full_name="Meera")
    token = login(client, "meera@example.com").get_json()["access_token"]
    resp = client.put("/api/users/me", json={"full_name": "Mee\u0000ra"}, headers=bearer(token))
    assert resp.status_code == 422 and error_code(resp) == "validation_error"
    assert client.get("/api/users/me", headers=bearer(token)).get_json()["full_name"] == "Meera"


def test_a_body_that_is_not_json_is_400(client):
    resp = client.post("/api/auth/login", data={"email": "a@b.c", "password": "x"})
    assert resp.status_code == 400 and error_code(resp) == "bad_request"
    assert "JSON" in resp.get_json()["error"]["message"]
    resp = client.post("/api/auth/login", data="email=a", content_type="text/plain")
    assert resp.status_code == 400
