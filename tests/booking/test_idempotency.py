"""Idempotency-Key on POST /api/bookings and /guest: one booking per key, even in parallel."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from nibog.booking import idempotency
from nibog.booking.models import Booking, IdempotencyKey
from nibog.catalog.models import GameSlot
from nibog.core import locking
from nibog.core.errors import Conflict
from nibog.extensions import db
from tests.booking.test_guest import guest_body
from tests.booking.world import make_world
from tests.concurrency.race import interleave
from tests.helpers import auth_headers, error_code

# Commit mode (docs/testing.md, "Isolation"): keys are claimed and answered in transactions of their own (idempotency.py).
pytestmark = pytest.mark.commits


def bookings():
    return db.session.scalar(select(func.count()).select_from(Booking))


def test_retry_with_same_key_replays_the_first_response(client):
    w = make_world()
    body = {"event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-1"}
    first = client.post("/api/bookings", json=body, headers=headers)
    second = client.post("/api/bookings", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert bookings() == 1
    db.session.expire_all()
    assert db.session.get(GameSlot, w.slots[0].id).booked_count == 1


def test_same_key_with_another_body_is_409(client):
    w = make_world()
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-1"}
    client.post("/api/bookings", headers=headers, json={
        "event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]})
    resp = client.post("/api/bookings", headers=headers, json={
        "event_id": w.event.id, "items": [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}]})
    assert resp.status_code == 409 and error_code(resp) == "idempotency_key_reused"
    assert bookings() == 1


def test_keys_are_scoped_per_user(client):
    w = make_world()
    other = make_world()
    for world in (w, other):
        resp = client.post("/api/bookings", headers={**auth_headers(world.parent), "Idempotency-Key": "same"},
                           json={"event_id": world.event.id,
                                 "items": [{"child_id": world.children[0].id, "slot_id": world.slots[0].id}]})
        assert resp.status_code == 201
    assert bookings() == 2


def test_a_final_4xx_is_replayed_as_it_was(client):
    """The contract: a repeat with the key returns the first response, status and body - a
    refusal included, even once the request would now succeed. A new key asks again."""
    w = make_world(capacity=0)
    body = {"event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-full"}
    first = client.post("/api/bookings", json=body, headers=headers)
    assert first.status_code == 409 and error_code(first) == "slot_full"
    db.session.get(GameSlot, w.slots[0].id).capacity = 1
    db.session.commit()
    again = client.post("/api/bookings", json=body, headers=headers)
    assert again.status_code == 409 and again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert bookings() == 0
    fresh = client.post("/api/bookings", json=body,
                        headers={**auth_headers(w.parent), "Idempotency-Key": "k-new"})
    assert fresh.status_code == 201


def test_a_server_error_frees_its_key(client, app, monkeypatch):
    """A 5xx is not an answer: nothing was created, the retry runs the request."""
    from nibog.booking import service

    w = make_world()
    body = {"event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-fault"}
    real = service.create_booking

    def fault(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(service, "create_booking", fault)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    assert client.post("/api/bookings", json=body, headers=headers).status_code == 500
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
    monkeypatch.setattr(service, "create_booking", real)
    assert client.post("/api/bookings", json=body, headers=headers).status_code == 201


def test_guest_retry_replays_with_the_same_access_code(client):
    w = make_world(n_children=0)
    headers = {"Idempotency-Key": "guest-1"}
    first = client.post("/api/bookings/guest", json=guest_body(w), headers=headers)
    second = client.post("/api/bookings/guest", json=guest_body(w), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert bookings() == 1


@pytest.mark.parametrize("wait_seconds, others", [(20.0, "replayed"), (0.0, "idempotency_in_progress")])
def test_concurrent_retries_create_one_booking(app, monkeypatch, wait_seconds, others):
    """Parallel requests with one key: one books; the others wait and replay it, or - when the
    wait is over before the first finishes - get 409 idempotency_in_progress."""
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST_SECONDS", wait_seconds)
    w = make_world()
    body = {"event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    with app.test_request_context():
        headers = {**auth_headers(w.parent), "Idempotency-Key": "parallel"}
    n = 4
    start = threading.Barrier(n, timeout=20)
    seen = threading.Condition()
    waiting, finished = set(), set()

    class CountingTime:
        """The idempotency module's clock, noting which requests found the key in progress."""

        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def sleep(seconds):
            with seen:
                waiting.add(threading.get_ident())
                seen.notify_all()
            time.sleep(seconds)

    monkeypatch.setattr(idempotency, "time", CountingTime)

    def hold_first_request(stage):
        # Only the request that claimed the key gets here: keep it inside its transaction until
        # every other request has met the in-progress key (polling, or already answered 409).
        if stage == "seats_read":
            with seen:
                assert seen.wait_for(lambda: len(waiting | finished) >= n - 1, timeout=20)

    monkeypatch.setattr(locking.guards, "pause", hold_first_request)
    results = [None] * n

    def worker(i):
        c = app.test_client()
        start.wait()
        resp = c.post("/api/bookings", json=body, headers=headers)
        replayed = resp.headers.get("Idempotent-Replayed") == "true"
        results[i] = (resp.status_code, resp.get_json(), replayed)
        if resp.status_code == 409:
            with seen:
                finished.add(threading.get_ident())
                seen.notify_all()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a retry hung"
    created = [r[1] for r in results if r[0] == 201]
    assert created and all(b == created[0] for b in created)
    outcome = sorted(
        "replayed" if r[2] else ("created" if r[0] == 201 else r[1]["error"]["code"]) for r in results
    )
    assert outcome == sorted(["created"] + [others] * (n - 1))
    db.session.expire_all()
    assert bookings() == 1
    assert db.session.get(GameSlot, w.slots[0].id).booked_count == 1


def test_a_key_whose_request_died_is_taken_over_by_the_next_retry(client, monkeypatch):
    """The first request's worker was killed mid-request: its key never left in_progress.
    Past the lease the next retry takes the key over and books, instead of 409 for a day."""
    from datetime import timedelta

    from nibog.core.timeutil import utcnow

    w = make_world()
    body = {"event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-dead"}
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST_SECONDS", 0.2)
    dead = idempotency.begin(f"user:{w.parent.id}", "k-dead", "POST /api/bookings", body)
    assert isinstance(dead, idempotency.Claim)
    # Not yet past the lease: a retry waits, then hears the key is busy.
    busy = client.post("/api/bookings", json=body, headers=headers)
    assert busy.status_code == 409 and error_code(busy) == "idempotency_in_progress"
    db.session.execute(
        IdempotencyKey.__table__.update().values(
            created_at=utcnow() - idempotency.LEASE - timedelta(seconds=1)))
    db.session.commit()
    retry = client.post("/api/bookings", json=body, headers=headers)
    assert retry.status_code == 201, retry.get_json()
    assert bookings() == 1
    # The dead request, had it come back to life, could no longer record its answer.
    with pytest.raises(idempotency.KeyTakenOver):
        idempotency.finish(dead, 201, {})
    db.session.rollback()


def test_a_key_past_its_day_is_not_replayed_even_before_the_purge(client):
    """A key lives 24 hours. One past that which the purge job has not deleted yet is a new
    request's key: it is answered afresh (here: the child is already booked), not replayed."""
    from datetime import timedelta

    from nibog.core.timeutil import utcnow

    w = make_world()
    body = {"event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-old"}
    assert client.post("/api/bookings", json=body, headers=headers).status_code == 201
    db.session.execute(IdempotencyKey.__table__.update().values(
        expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    late = client.post("/api/bookings", json=body, headers=headers)
    assert (late.status_code, error_code(late)) == (409, "already_booked")
    assert late.headers.get("Idempotent-Replayed") is None
    assert bookings() == 1
    (row,) = db.session.scalars(select(IdempotencyKey)).all()
    assert (row.state, row.response_status) == ("done", 409)  # the new answer is the key's now


def test_a_request_whose_key_was_taken_over_cannot_record_or_drop_it(client, monkeypatch):
    """The fence: a request presumed dead comes back while the retry that took its key over is
    still running. Its answer must not be recorded, its clean-up must not delete the retry's
    key, and the retry's answer is the one the key keeps."""
    from datetime import timedelta

    from nibog.core.timeutil import utcnow

    w = make_world()
    body = {"event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    scope, endpoint = f"user:{w.parent.id}", "POST /api/bookings"
    dead = idempotency.begin(scope, "k-fence", endpoint, body)
    db.session.execute(IdempotencyKey.__table__.update().values(
        created_at=utcnow() - idempotency.LEASE - timedelta(seconds=1)))
    db.session.commit()
    retry = idempotency.begin(scope, "k-fence", endpoint, body)
    assert isinstance(retry, idempotency.Claim) and retry.id == dead.id and retry.at != dead.at
    with pytest.raises(idempotency.KeyTakenOver):
        idempotency.finish(dead, 201, {"from": "dead"})
    db.session.rollback()
    idempotency.abandon(dead)
    idempotency._finish_refused(dead, idempotency.KeyInProgress())
    (row,) = db.session.scalars(select(IdempotencyKey).execution_options(populate_existing=True))
    assert row.state == "in_progress"
    idempotency.finish(retry, 201, {"from": "retry"})
    db.session.commit()
    db.session.expire_all()
    (row,) = db.session.scalars(select(IdempotencyKey)).all()
    assert (row.state, row.response_status, row.response_body) == ("done", 201, {"from": "retry"})


def _retry_during_the_first(app, monkeypatch):
    """The retry arrives while the first request has claimed its key (or, unguarded, has read
    that nobody has) and not yet booked; it answers at once (no waiting for the first).
    Beside it: the same key of another parent, and another key of this parent (answered)."""
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST_SECONDS", 0.0)
    w = make_world()
    body = {"event_id": w.event.id, "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}
    for scope, key in (("user:0", "retry"), (f"user:{w.parent.id}", "other")):
        claim = idempotency.begin(scope, key, "POST /api/bookings", {})
        idempotency._finish_refused(claim, Conflict("slot_full", "This slot is full"))
    with app.test_request_context():
        headers = {**auth_headers(w.parent), "Idempotency-Key": "retry"}

    def post(_):
        resp = app.test_client().post("/api/bookings", json=body, headers=headers)
        return resp.status_code, resp.get_json()

    results = interleave(app, post, post, "idempotency_claim")
    later = app.test_client().post("/api/bookings", json=body, headers=headers)
    db.session.expire_all()
    return [r[1] for r in results], later, db.session.get(GameSlot, w.slots[0].id).booked_count


def test_a_retry_during_the_first_request_hears_in_progress_then_its_answer(app, monkeypatch):
    (first, second), later, booked = _retry_during_the_first(app, monkeypatch)
    assert first[0] == 201, first
    assert second[0] == 409 and second[1]["error"]["code"] == "idempotency_in_progress", second
    # The next retry gets the first request's booking.
    assert later.status_code == 201 and later.get_json() == first[1]
    assert later.headers.get("Idempotent-Replayed") == "true"
    assert (bookings(), booked) == (1, 1)


def test_control_without_the_one_statement_claim_a_retry_gets_another_answer(app, monkeypatch):
    monkeypatch.setattr(locking.guards, "idempotency_claim", False)
    (first, second), later, booked = _retry_during_the_first(app, monkeypatch)
    # Both read "no such key" and both claimed it. The retry booked; the first, claiming over
    # it, then met that booking and was refused - and its refusal is now the key's answer.
    assert second[0] == 201, second
    assert first[0] == 409 and first[1]["error"]["code"] == "already_booked", first
    # The control still reads the key before writing it: a finished key is replayed.
    assert later.status_code == 409 and later.get_json() == first[1]
    assert later.headers.get("Idempotent-Replayed") == "true"
    assert (bookings(), booked) == (1, 1)
