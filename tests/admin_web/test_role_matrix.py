"""Every /admin route × (anonymous, parent, staff, admin), generated from the URL map: a route
added later is in the matrix without anyone remembering to add it."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from nibog.admin.views.access import ADMIN, LEVELS, OPERATE, READ
from tests.factories import UserFactory
from tests.helpers import sign_in

MISSING_ID = 987654


def admin_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        args = {
            name: MISSING_ID if isinstance(conv, IntegerConverter) else "x"
            for name, conv in rule._converters.items()
        }
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **args)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def call(app, user, method, url):
    # Its own app context: requests in a test share the test's context (and its ``g``, where
    # Flask-Login caches the signed-in user) otherwise.
    with app.app_context():
        client = app.test_client()
        if user is not None:
            sign_in(client, user)
        return client.open(url, method=method, data={})


def test_every_admin_route_declares_its_level(app):
    routes = list(admin_routes(app))
    assert len(routes) >= 2
    undeclared = [endpoint for endpoint, _, _ in routes
                  if getattr(app.view_functions[endpoint], "admin_access", None) not in LEVELS]
    assert undeclared == []


def test_role_matrix(app):
    parent = UserFactory(role="parent")
    staff = UserFactory(role="staff")
    admin = UserFactory(role="admin")
    failures = []
    for endpoint, method, url in admin_routes(app):
        level = app.view_functions[endpoint].admin_access

        anonymous = call(app, None, method, url)
        if anonymous.status_code != 302 or "/login?next=" not in anonymous.headers["Location"]:
            failures.append((endpoint, method, "anonymous", anonymous.status_code))

        as_parent = call(app, parent, method, url)
        if as_parent.status_code != 403:
            failures.append((endpoint, method, "parent", as_parent.status_code))

        as_staff = call(app, staff, method, url)
        staff_refused = as_staff.status_code == 403
        if staff_refused != (level == ADMIN) or _to_login(as_staff):
            failures.append((endpoint, method, "staff", as_staff.status_code))

        as_admin = call(app, admin, method, url)
        if as_admin.status_code in (401, 403, 500) or _to_login(as_admin):
            failures.append((endpoint, method, "admin", as_admin.status_code))
    assert failures == [], failures


def _to_login(response) -> bool:
    # Signing out ends at the sign-in page too, without a page to come back to.
    return response.status_code == 302 and "/login?next=" in response.headers.get("Location", "")


def test_a_route_without_a_declared_level_is_refused_to_everybody(app):
    # The control for the matrix: strip the declaration from a real page and even an admin is
    # refused (the gate fails closed).
    admin = UserFactory(role="admin")
    view = app.view_functions["admin_web.dashboard"]
    assert call(app, admin, "GET", "/admin/").status_code == 200
    saved = view.admin_access
    del view.admin_access
    try:
        assert call(app, admin, "GET", "/admin/").status_code == 403
    finally:
        view.admin_access = saved


@pytest.mark.parametrize("level", [READ, OPERATE, ADMIN])
def test_levels_know_their_roles(level):
    assert "admin" in LEVELS[level] and "parent" not in LEVELS[level]
    assert ("staff" in LEVELS[level]) == (level != ADMIN)
