import pytest

from tests.factories import UserFactory


@pytest.fixture
def parent():
    return UserFactory()


@pytest.fixture
def processes():
    """Start processes with ``processes.append(proc)``; all are stopped after the test."""
    from tests.ops.processes import stop

    procs = []
    yield procs
    for proc in reversed(procs):
        stop(proc)
