from tests.auth.support import outbox  # noqa: F401
