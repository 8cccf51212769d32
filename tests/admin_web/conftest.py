"""Dashboard tests sign people in through the Flask-Login session (the sign-in form is the
parent site's and has its own tests)."""

from __future__ import annotations

import pytest
from flask import g

from tests.factories import UserFactory


def sign_in(client, user) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()  # "<id>:<token version>"
        sess["_fresh"] = True
    # Requests made in a test share its app context, where Flask-Login caches the user.
    g.pop("_login_user", None)


@pytest.fixture
def admin_user(app):
    return UserFactory(role="admin", email="admin@nibog.in", full_name="Asha Admin")


@pytest.fixture
def staff_user(app):
    return UserFactory(role="staff", email="staff@nibog.in", full_name="Sunil Staff")


@pytest.fixture
def parent_user(app):
    return UserFactory(role="parent", email="parent@example.com")


@pytest.fixture
def admin_client(app, admin_user):
    client = app.test_client()
    sign_in(client, admin_user)
    return client


@pytest.fixture
def staff_client(app, staff_user):
    client = app.test_client()
    sign_in(client, staff_user)
    return client


def html(response) -> str:
    return response.get_data(as_text=True)
