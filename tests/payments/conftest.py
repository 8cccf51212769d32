"""Fixtures for the payments tests (helpers live in support.py)."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory


@pytest.fixture
def parent():
    return UserFactory()


@pytest.fixture
def other_parent():
    return UserFactory()


@pytest.fixture
def admin():
    return UserFactory(role="admin")


@pytest.fixture
def staff():
    return UserFactory(role="staff")
