import pytest
import redis as redis_lib

from nibog.notifications.channels import CONSOLE_OUTBOX


@pytest.fixture(autouse=True)
def _empty_console():
    CONSOLE_OUTBOX.clear()
    yield
    CONSOLE_OUTBOX.clear()


@pytest.fixture
def redis_outage(app):
    """Point the app's Redis client at a port where nothing listens; restore afterwards."""
    real = app.extensions["nibog_redis"]

    def start():
        app.extensions["nibog_redis"] = redis_lib.Redis(
            host="127.0.0.1", port=1, socket_connect_timeout=0.5, socket_timeout=0.5
        )

    def end():
        app.extensions["nibog_redis"] = real

    yield start, end
    app.extensions["nibog_redis"] = real


@pytest.fixture
def no_redis(app):
    """The embedded default: no REDIS_URL, jobs run in-process."""
    real = app.extensions["nibog_redis"]
    app.extensions["nibog_redis"] = None
    yield
    app.extensions["nibog_redis"] = real
