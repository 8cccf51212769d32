"""Test fixtures (flaskr's names: app, client, runner).

The schema is built once per run by applying the migrations to a fresh PostgreSQL database, so
migrations are tested too. With pytest-xdist each worker gets its own database and Redis database
number. Two isolation modes (docs/testing.md, "Isolation"):

- rollback (the default): the test runs inside one transaction on one connection, which
  ``db.session`` joins with a SAVEPOINT per unit of work (the boundary's commit releases it); the
  transaction is rolled back at the end;
- commit (``@pytest.mark.commits``, and every test in tests/concurrency and tests/browser): the
  test commits for real, for code that works on connections of its own (the outbox hand-over,
  idempotency keys, reports, other threads), and ends by emptying the tables it wrote to.

Either way the sequences restart and the Redis database is flushed: no test sees another's rows or
ids. ``NIBOG_TEST_ISOLATION=commit`` puts every test in commit mode.
"""

from __future__ import annotations

import os
import threading

import pytest
import redis as redis_lib
import sqlalchemy as sa
from flask_sqlalchemy.session import Session as _FlaskSession
from sqlalchemy.engine import make_url

os.environ["NIBOG_ENV"] = "testing"

from nibog import create_app  # noqa: E402
from nibog.config import normalise_database_url  # noqa: E402
from nibog.extensions import db as _db

PG_HINT = (
    "PostgreSQL is not reachable at {url}. Start it with:\n"
    "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
)
REDIS_HINT = (
    "Redis is not reachable at {url}. Start it with:\n"
    '  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
)


def _worker_index(config) -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") else 0


@pytest.fixture(scope="session")
def database_urls(request):
    base = make_url(
        normalise_database_url(
            os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/nibog_test")
        )
    )
    index = _worker_index(request.config)
    db_url = base.set(database=f"{base.database}_{index}")
    redis_base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    prefix, _, base_db = redis_base.rpartition("/")
    redis_url = f"{prefix}/{int(base_db or 15) - index}"
    return db_url, redis_url


@pytest.fixture(scope="session")
def app(database_urls):
    db_url, redis_url = database_urls
    admin_engine = sa.create_engine(db_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_url.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{db_url.database}"'))
    except sa.exc.OperationalError as exc:
        pytest.exit(PG_HINT.format(url=db_url.render_as_string()) + f"\n{exc}", returncode=3)
    try:
        redis_lib.Redis.from_url(redis_url).ping()
    except redis_lib.exceptions.ConnectionError as exc:
        pytest.exit(REDIS_HINT.format(url=redis_url) + f"\n{exc}", returncode=3)

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": db_url.render_as_string(hide_password=False), "REDIS_URL": redis_url}
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_url.database}" WITH (FORCE)'))
    admin_engine.dispose()


# A test that wrote more rows than this to one table gets the full TRUNCATE (which also gives the
# disk pages back); DELETE would leave dead rows for the next tests to scan past.
BULK_ROWS = 1000
_RESTART_SEQUENCES = (
    "SELECT setval(quote_ident(schemaname) || '.' || quote_ident(sequencename), 1, false) "
    "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
)


def truncate_all(app) -> None:
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
        with _db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def clean_database(app) -> list[str]:
    """Empty the tables a test wrote to and restart the sequences it used; the tables emptied.

    TRUNCATE of all 38 tables costs a new file per table and index and was half the suite's
    time; a probe of each table (a few rows at most) and a DELETE of the few that have any
    costs milliseconds. Children are emptied before their parents (reverse dependency order).
    """
    with app.app_context():
        names = [t.name for t in _db.metadata.sorted_tables]
        probe = " UNION ALL ".join(
            f"SELECT '{name}', count(*) FROM (SELECT 1 FROM \"{name}\" LIMIT {BULK_ROWS + 1}) s"
            for name in names
        )
        with _db.engine.begin() as conn:
            rows = dict(conn.execute(sa.text(probe)).all())
            bulk = any(n > BULK_ROWS for n in rows.values())
            if not bulk:
                deletes = [f'DELETE FROM "{name}"' for name in reversed(names) if rows[name]]
                conn.exec_driver_sql("; ".join([*deletes, _RESTART_SEQUENCES]))
        if bulk:
            truncate_all(app)
    return [name for name, n in rows.items() if n]


# --- isolation modes ------------------------------------------------------------------------

TESTS = os.path.dirname(os.path.abspath(__file__))
# Whole folders that need real commits: races between connections, and a live server in a
# thread of its own. Other tests say so with @pytest.mark.commits (docs/testing.md).
COMMIT_FOLDERS = ("concurrency", "browser")
ALL_COMMIT = os.environ.get("NIBOG_TEST_ISOLATION", "rollback") == "commit"


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = os.path.relpath(str(item.path), TESTS).split(os.sep)[0]
        if folder in COMMIT_FOLDERS or item.get_closest_marker("concurrency"):
            item.add_marker(pytest.mark.commits)


class _JoinedSession(_FlaskSession):
    """``db.session`` in a rollback test: every unit of work runs on the test's connection."""

    owner: int | None = None  # the test's thread

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is not None:
            return bind
        if threading.get_ident() != _JoinedSession.owner:
            # One connection cannot serve two threads; and the thread's work would not be
            # isolated from the test's as it is in production.
            raise RuntimeError(
                "db.session used from another thread in a rollback-mode test: "
                "mark the test @pytest.mark.commits"
            )
        return self.bind


@pytest.fixture(scope="session")
def _joined_session(app):
    """A scoped session like Flask-SQLAlchemy's, bound per test to the test's connection."""
    return _db._make_scoped_session({"class_": _JoinedSession})


def _clear_caches(app) -> None:
    redis_lib.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    from nibog.catalog import microcache
    from nibog.web import pagecache

    microcache.clear()
    pagecache.clear()
    from nibog.extensions import limiter

    limiter.reset()


@pytest.fixture(autouse=True)
def _pause_points_reached():
    """A race control's forced interleaving (``race.pause_at``) must really have happened."""
    from tests.concurrency.race import _pause_hooks, check_pauses_reached

    _pause_hooks.clear()
    yield
    check_pauses_reached()


@pytest.fixture(autouse=True)
def _clean_state(request, app, _joined_session):
    try:
        if ALL_COMMIT or request.node.get_closest_marker("commits"):
            yield from _commit_mode(app)
        else:
            yield from _rollback_mode(app, _joined_session)
    finally:
        _clear_caches(app)


def _commit_mode(app):
    ctx = app.app_context()
    ctx.push()
    yield
    _db.session.remove()
    ctx.pop()
    clean_database(app)


def _rollback_mode(app, joined):
    """SQLAlchemy's "Joining a Session into an External Transaction": the boundary's commit()
    releases a SAVEPOINT, its rollback() rolls back to it, the test's end rolls back it all."""
    ctx = app.app_context()
    ctx.push()
    engine = _db.engine
    conn = engine.connect()
    outer = conn.begin()
    joined.configure(bind=conn, join_transaction_mode="create_savepoint")
    _JoinedSession.owner = threading.get_ident()
    own_session, _db.session = _db.session, joined
    elsewhere: list[sa.Connection] = []  # commits on connections other than the test's

    def committed(connection):
        if connection is not conn:
            elsewhere.append(connection)

    sa.event.listen(engine, "commit", committed)
    try:
        yield
    finally:
        sa.event.remove(engine, "commit", committed)
        joined.remove()
        ctx.pop()
        _db.session = own_session
        _JoinedSession.owner = None
        outer.rollback()
        # Sequences are not rolled back: restart the used ones, as commit mode does. Nothing here
        # needs to survive a crash, so the commit does not wait for the disk.
        conn.exec_driver_sql(f"SET LOCAL synchronous_commit = off; {_RESTART_SEQUENCES}")
        conn.commit()
        conn.close()
    if elsewhere:
        # Code on a connection of its own committed for real: empty what it left so no other test
        # sees it, and tell the test it needs commit mode.
        leaked = clean_database(app)
        if leaked:
            pytest.fail(
                f"rows committed on another connection in a rollback-mode test "
                f"({', '.join(leaked)}): mark it @pytest.mark.commits",
                pytrace=False,
            )


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
