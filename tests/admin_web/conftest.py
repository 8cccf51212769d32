"""Dashboard tests sign people in through the Flask-Login session (the sign-in form is the
parent site's and has its own tests)."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory
from tests.helpers import sign_in


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
