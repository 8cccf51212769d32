"""Prepared statements (nibog/core/prepared.py): the hold's heaviest SQL is planned once per
PostgreSQL connection and answers exactly as the text it replaces."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from nibog import create_app
from nibog.booking.models import Booking
from nibog.core import prepared
from nibog.extensions import db
from tests.booking.world import make_world
from tests.helpers import auth_headers
from tests.payments.support import confirm, open_payment, sandbox

# Both ':a's are one parameter; the literal's % reaches PostgreSQL as one %.
TWICE = text("SELECT CAST(:a AS int) + CAST(:a AS int) AS twice, 'x%y' AS pct, "
             "CAST(:b AS timestamptz) AS at").execution_options(prepare=True)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _prepared_on(conn) -> dict[str, str]:
    return dict(conn.execute(text("SELECT name, statement FROM pg_prepared_statements")).all())


def _ours(conn, fragment: str) -> list[str]:
    return [name for name, sql in _prepared_on(conn).items() if fragment in " ".join(sql.split())]


def test_a_statement_is_prepared_once_per_connection_and_answers_as_its_text():
    at = "2026-12-06T10:00:00+05:30"
    with db.engine.connect() as conn:
        plain = conn.execute(TWICE.execution_options(prepare=False), {"a": 21, "b": at}).one()
        first = conn.execute(TWICE, {"a": 21, "b": at}).one()
        again = conn.execute(TWICE, {"a": 4, "b": at}).one()
        names = _ours(conn, "'x%y'")
        conn.rollback()
        # A rollback keeps what the connection prepared: it still runs by name.
        after_rollback = conn.execute(TWICE, {"a": 1, "b": at}).one()
        assert _ours(conn, "'x%y'") == names
        conn.rollback()
    assert tuple(first) == tuple(plain) == (42, "x%y", plain.at)
    assert again.twice == 8 and after_rollback.twice == 2 and first.at == plain.at
    assert len(names) == 1, names


def test_a_new_connection_after_invalidation_prepares_again():
    with db.engine.connect() as conn:
        conn.execute(TWICE, {"a": 1, "b": "2026-12-06T00:00:00Z"})
        conn.invalidate()  # the server session is gone; what the old one prepared with it
        conn.rollback()
        assert conn.execute(TWICE, {"a": 2, "b": "2026-12-06T00:00:00Z"}).one().twice == 4
        assert len(_ours(conn, "'x%y'")) == 1
        conn.rollback()


def test_a_statement_postgresql_cannot_prepare_runs_as_text_and_the_transaction_goes_on():
    # "$1 + $1": PostgreSQL cannot tell which + (no type); as text the values say it (2 + 2).
    untyped = text("SELECT :a + :a AS sum").execution_options(prepare=True)
    with db.engine.connect() as conn:
        assert conn.execute(untyped, {"a": 2}).scalar() == 4
        assert conn.execute(untyped, {"a": 5}).scalar() == 10
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert _ours(conn, "$1 + $1") == []
        conn.rollback()


def test_a_column_type_changed_under_a_prepared_statement_costs_one_failure_per_connection():
    pick = text("SELECT n FROM prepared_probe").execution_options(prepare=True)
    with db.engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE prepared_probe (n int)"))
        conn.execute(text("INSERT INTO prepared_probe VALUES (7)"))
        assert conn.execute(pick).scalar() == 7
        conn.execute(text("ALTER TABLE prepared_probe ALTER COLUMN n TYPE bigint"))
        with pytest.raises(DBAPIError, match="cached plan must not change result type"):
            conn.execute(pick)
        # Dropped, not kept: the next statement runs on a fresh connection that prepares anew.
        assert conn.invalidated
        conn.rollback()
        conn.execute(text("CREATE TEMP TABLE prepared_probe (n bigint)"))
        conn.execute(text("INSERT INTO prepared_probe VALUES (8)"))
        assert conn.execute(pick).scalar() == 8
        conn.rollback()


def test_an_integer_beyond_its_parameters_type_finds_nothing_as_in_the_text():
    count = text("SELECT count(*) FROM users WHERE id = :id").execution_options(prepare=True)
    with db.engine.connect() as conn:
        assert conn.execute(count, {"id": 1}).scalar() == 0
        assert conn.execute(count, {"id": 2**40}).scalar() == 0
        assert conn.execute(count, {"id": -(2**63) - 1}).scalar() == 0
        assert len(_ours(conn, "FROM users WHERE id = $1")) == 1
        conn.rollback()


def test_a_hold_for_ids_no_row_can_have_is_refused_as_for_any_unknown_id(client):
    w = make_world(n_children=1, n_slots=1)
    for child_id, slot_id, status, code in ((2**63, w.slots[0].id, 404, "not_found"),
                                            (w.children[0].id, 2**40, 422, "validation_error")):
        resp = client.post("/api/bookings", headers=auth_headers(w.parent), json={
            "event_id": w.event.id, "items": [{"child_id": child_id, "slot_id": slot_id}]})
        assert resp.status_code == status, resp.get_json()
        assert resp.get_json()["error"]["code"] == code


def test_a_session_that_lost_its_statements_switches_preparing_off_for_the_process(app):
    """What a transaction pooler does (the next transaction on another server session): the
    first EXECUTE fails, then the process sends text only."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "REDIS_URL": app.config["REDIS_URL"]})
    warnings = _Records()
    prepared.log.addHandler(warnings)
    # Alembic's fileConfig (the suite's migrations) disables the loggers that existed then.
    disabled, prepared.log.disabled = prepared.log.disabled, False
    with other.app_context():
        try:
            with db.engine.connect() as conn:
                assert conn.execute(TWICE, {"a": 1, "b": "2026-12-06T00:00:00Z"}).one().twice == 2
                conn.exec_driver_sql("DEALLOCATE ALL")  # as if another server session
                with pytest.raises(DBAPIError, match="does not exist"):
                    conn.execute(TWICE, {"a": 2, "b": "2026-12-06T00:00:00Z"})
                assert conn.invalidated
                conn.rollback()
                assert conn.execute(TWICE, {"a": 3, "b": "2026-12-06T00:00:00Z"}).one().twice == 6
                assert _prepared_on(conn) == {}
                conn.rollback()
        finally:
            db.engine.dispose()
            prepared.log.removeHandler(warnings)
            prepared.log.disabled = disabled
    assert any("DB_PREPARED_STATEMENTS=false" in m for m in warnings.messages)
    # The app under test (another engine) still prepares.
    with db.engine.connect() as conn:
        conn.execute(TWICE, {"a": 4, "b": "2026-12-06T00:00:00Z"})
        assert len(_ours(conn, "'x%y'")) == 1
        conn.rollback()


def test_switched_off_nothing_is_prepared(app):
    off = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                      "REDIS_URL": app.config["REDIS_URL"], "DB_PREPARED_STATEMENTS": False})
    with off.app_context():
        try:
            with db.engine.connect() as conn:
                assert conn.execute(TWICE, {"a": 3, "b": "2026-12-06T00:00:00Z"}).one().twice == 6
                assert _prepared_on(conn) == {}
                conn.rollback()
        finally:
            db.engine.dispose()


def test_a_hold_reads_and_claims_through_prepared_statements(client):
    w = make_world(n_children=2, n_slots=1, capacity=5)
    answers = []
    for child in w.children:
        answers.append(client.post("/api/bookings", headers=auth_headers(w.parent), json={
            "event_id": w.event.id, "items": [{"child_id": child.id, "slot_id": w.slots[0].id}],
        }))
        if len(answers) == 1:
            conn = db.session.connection()
            first_read = _ours(conn, "JOIN event_games")
            claim = _ours(conn, "WITH claimed AS")
            email = _ours(conn, "INSERT INTO notifications")
            count = len(_prepared_on(conn))
    assert [a.status_code for a in answers] == [201, 201], [a.get_json() for a in answers]
    children = [a.get_json()["booking"]["items"][0]["child"]["id"] for a in answers]
    assert children == [c.id for c in w.children]
    assert len(first_read) == 1 and len(claim) == 1 and len(email) == 1
    # The second hold ran by name: nothing new was prepared.
    assert len(_prepared_on(db.session.connection())) == count


def test_a_payment_opens_and_captures_through_prepared_statements(client, app):
    w = make_world(n_children=1, n_slots=1)
    held = client.post("/api/bookings", headers=auth_headers(w.parent), json={
        "event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]})
    booking = db.session.get(Booking, held.get_json()["booking"]["id"])
    order = open_payment(client, w.parent, booking)
    paid = sandbox(app).simulate_payment(order["provider_order_id"], method="upi")
    resp = confirm(client, w.parent, order["payment_id"], paid["payment"]["id"], paid["signature"])
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["booking_status"] == "confirmed"
    conn = db.session.connection()
    for statement in ("LEFT OUTER JOIN payments AS open_order",  # the booking to pay
                      "INSERT INTO payments (",  # the order and its history
                      "UPDATE payments SET",  # the capture and its history
                      "registration_closes_at FROM events WHERE",  # the confirmation's window
                      "FROM bookings WHERE bookings.id = $1 FOR UPDATE"):  # the booking locked
        assert len(_ours(conn, statement)) == 1, statement


def test_a_signed_in_request_reads_its_user_through_a_prepared_statement(client):
    w = make_world(n_children=1, n_slots=1)
    headers, parent_id = auth_headers(w.parent), w.parent.id
    db.session.expunge_all()  # as in a real request, the user is not in the session yet
    resp = client.get("/api/users/me", headers=headers)
    assert resp.status_code == 200 and resp.get_json()["id"] == parent_id
    assert len(_ours(db.session.connection(), "FROM users WHERE users.id = $1")) == 1
