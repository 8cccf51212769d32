import pytest

from tests.factories import UserFactory


@pytest.fixture
def parent():
    return UserFactory()
