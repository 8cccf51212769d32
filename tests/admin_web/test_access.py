"""Signing in and out of the dashboard: redirects, the parent's 403, idle expiry, and an account
changed behind a live session."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

from nibog.extensions import db
from tests.helpers import html, sign_in


def test_anonymous_is_sent_to_sign_in_and_back(client):
    response = client.get("/admin/?days=7")
    assert response.status_code == 302
    location = urlparse(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/admin/?days=7"]


def test_a_parent_gets_the_403_page(client, parent_user):
    sign_in(client, parent_user)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "parent account" in html(response)


def test_staff_and_admin_see_the_dashboard(staff_client, admin_client):
    for c in (staff_client, admin_client):
        page = c.get("/admin/")
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert 'id="admin-nav"' in html(page)
        assert page.headers["Cache-Control"] == "private, no-store"
        assert page.headers["X-Frame-Options"] == "DENY"


def test_a_deactivated_admin_is_out_at_the_next_request(admin_client, admin_user):
    assert admin_client.get("/admin/").status_code == 200
    admin_user.is_active_account = False
    db.session.commit()
    response = admin_client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_demoted_admin_loses_admin_pages_at_the_next_request(admin_client, admin_user):
    assert admin_client.get("/admin/").status_code == 200
    admin_user.role = "parent"
    db.session.commit()
    assert admin_client.get("/admin/").status_code == 403


def test_an_idle_session_expires(app, admin_client):
    assert admin_client.get("/admin/").status_code == 200
    minutes = app.config["ADMIN_SESSION_IDLE_MINUTES"]
    with admin_client.session_transaction() as sess:
        sess["admin_seen"] = int(time.time()) - minutes * 60 - 5
    response = admin_client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # Signed out for real: the next request is anonymous too.
    again = admin_client.get("/admin/")
    assert again.status_code == 302


def test_an_active_session_stays(app, admin_client):
    with admin_client.session_transaction() as sess:
        sess["admin_seen"] = int(time.time()) - 60
    assert admin_client.get("/admin/").status_code == 200


def test_sign_out(admin_client):
    response = admin_client.post("/admin/sign-out")
    assert response.status_code == 302
    assert admin_client.get("/admin/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(app, admin_client):
    from tests.factories import CityFactory

    city = CityFactory(name="Pune")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = admin_client.post(f"/admin/cities/{city.id}/delete")
        assert refused.status_code == 400
        page = html(admin_client.get(f"/admin/cities/{city.id}"))
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        done = admin_client.post(f"/admin/cities/{city.id}/delete", data={"csrf_token": token})
        assert done.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    db.session.expire_all()
    from nibog.catalog.models import City

    assert db.session.get(City, city.id) is None
