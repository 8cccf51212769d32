import contextvars

import pytest
from flask.testing import FlaskClient

from tests.auth.support import outbox  # noqa: F401


class OwnContextClient(FlaskClient):
    """Each request in a context of its own, as on a real server.

    The suite keeps an app context pushed for the whole test (factories need it); Flask reuses
    it for the test client's requests, so ``g`` - where Flask-Babel keeps the language and
    Flask-Login the signed-in user - would carry over from one request (and one browser) to the
    next. Run in an empty ``contextvars`` context, each request pushes its own.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(autouse=True)
def _own_context_per_request(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", OwnContextClient)
