"""Redis killed (SIGKILL) and started again under a running app: a real redis-server process.

The test starts a private redis-server on a free port (the machine's shared Redis is left alone),
builds an app on it (same test database), books, kills Redis, goes on working, starts Redis
again on the same port and goes on again - without restarting the app. While Redis is down
every answer is a success or a clear 503 (never a 500), holds still expire and give their seats
back, and the message that expiry queues waits in the outbox; once Redis is back the same app
books again and the relay delivers the waiting message. Nothing committed is lost and no seat is
stranded (each slot's counter equals its live items).
"""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import timedelta

import pytest
import redis as redis_lib
from sqlalchemy import func, select

from nibog import create_app
from nibog.booking.models import Booking, BookingItem
from nibog.booking.service import expire_holds
from nibog.catalog.models import GameSlot
from nibog.core import boundary
from nibog.core.models import OutboxJob
from nibog.core.outbox import relay_outbox
from nibog.core.timeutil import utcnow
from nibog.extensions import db, limiter
from tests.booking.world import make_world
from tests.helpers import auth_headers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self) -> None:
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe = redis_lib.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                probe.ping()
                return
            except redis_lib.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no goodbye to the clients
            self.proc.wait(10)


@pytest.fixture
def redis_app(app, database_urls):
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis()
    server.start()
    db_url, _ = database_urls
    # The rate limiter is one object for every app: its storage goes back to the suite's Redis.
    kept = (limiter.enabled, limiter._storage, limiter._limiter)
    other = create_app({
        "SQLALCHEMY_DATABASE_URI": db_url.render_as_string(hide_password=False),
        "REDIS_URL": f"redis://127.0.0.1:{server.port}/0",
        # Jobs go through the outbox and RQ as in production (not run in-line).
        "JOBS_SYNC": False,
    })
    try:
        with other.app_context():
            yield other, server
            db.session.remove()
            db.engine.dispose()
    finally:
        server.kill()
        limiter.enabled, limiter._storage, limiter._limiter = kept


def _book(client, headers, event_id, child_id, slot_id, key):
    resp = client.post("/api/bookings", headers={**headers, "Idempotency-Key": key}, json={
        "event_id": event_id, "items": [{"child_id": child_id, "slot_id": slot_id}]})
    return resp.status_code, resp.get_json()


def test_redis_killed_and_restarted_under_traffic(redis_app):
    app, server = redis_app
    client = app.test_client()
    w = make_world(capacity=3, n_slots=1, n_children=3)
    event_id, slot_id = w.event.id, w.slots[0].id
    kids = [c.id for c in w.children]
    with app.test_request_context():
        headers = auth_headers(w.parent)

    status, first = _book(client, headers, event_id, kids[0], slot_id, "k0")
    assert status == 201, first

    server.kill()
    answers = [_book(client, headers, event_id, kids[1], slot_id, "k1") for _ in range(3)]
    mine = client.get("/api/bookings", headers=headers)
    answers.append((mine.status_code, mine.get_json()))
    for status, body in answers:
        assert status in (200, 201, 503), (status, body)
        if status == 503:
            assert body["error"]["code"] == "service_unavailable"
    # The hold expiry job still runs (in a worker, from the scheduler): the seat comes back,
    # and the message it queues waits in the outbox.
    later = utcnow() + timedelta(seconds=app.config["BOOKING_HOLD_SECONDS"] + 60)
    expired = boundary.run_unit(expire_holds, now=later)
    assert expired >= 1
    db.session.expire_all()
    pending = db.session.scalar(select(func.count()).select_from(OutboxJob).where(
        OutboxJob.relayed_at.is_(None)))
    assert pending >= 1, "the expiry's messages wait in the outbox while Redis is down"

    server.start()  # same port: the app's pool reconnects on its own
    status, again = _book(client, headers, event_id, kids[2], slot_id, "k2")
    assert status == 201, again
    assert relay_outbox(grace_seconds=0) >= pending
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(OutboxJob).where(
        OutboxJob.relayed_at.is_(None))) == 0

    # Nothing committed lost, no seat stranded.
    db.session.expire_all()
    assert db.session.get(Booking, first["booking"]["id"]).status == "expired"
    assert db.session.get(Booking, again["booking"]["id"]).status == "pending_payment"
    live = db.session.scalar(select(func.count()).select_from(BookingItem).where(
        BookingItem.slot_id == slot_id, BookingItem.is_live))
    assert db.session.get(GameSlot, slot_id).booked_count == live
