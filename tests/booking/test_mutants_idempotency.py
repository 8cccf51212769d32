"""Idempotency-Key rules that mutation testing found untested (docs/testing.md): a key's
24-hour life, its length, the takeover fence, and the purge of old keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from nibog.booking import idempotency
from nibog.booking.models import Booking, IdempotencyKey
from nibog.catalog.models import GameSlot
from nibog.core.errors import AppError, Conflict
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from tests.booking.world import make_world
from tests.helpers import auth_headers, error_code

# Commit mode (docs/testing.md, "Isolation"): keys are claimed and answered in transactions of their own (idempotency.py).
pytestmark = pytest.mark.commits

ENDPOINT = "POST /api/bookings"


def bookings() -> int:
    return db.session.scalar(select(func.count()).select_from(Booking))


def keys() -> list[IdempotencyKey]:
    db.session.expire_all()
    return db.session.scalars(select(IdempotencyKey).order_by(IdempotencyKey.id)).all()


def age_keys(by: timedelta) -> None:
    """Every key as if made `by` earlier (its claim and its expiry)."""
    ago = sa.literal_column(f"interval '{int(by.total_seconds())} seconds'")
    db.session.execute(IdempotencyKey.__table__.update().values(
        created_at=IdempotencyKey.created_at - ago, expires_at=IdempotencyKey.expires_at - ago))
    db.session.commit()


def one_child_body(w) -> dict:
    return {"event_id": w.event.id,
            "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]}


def test_a_key_is_kept_for_24_hours(client):
    w = make_world()
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-day"}
    before = utcnow()
    assert client.post("/api/bookings", json=one_child_body(w), headers=headers).status_code == 201
    (key,) = keys()
    assert key.state == "done" and key.response_status == 201
    assert timedelta(hours=24) <= key.expires_at - before <= timedelta(hours=24, minutes=1)


def test_a_key_past_its_life_answers_no_more(client):
    """Expired but not yet purged: the old answer is not replayed, the request runs again."""
    w = make_world(capacity=0)
    body = one_child_body(w)
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-old"}
    first = client.post("/api/bookings", json=body, headers=headers)
    assert first.status_code == 409 and error_code(first) == "slot_full"
    db.session.get(GameSlot, w.slots[0].id).capacity = 1
    db.session.commit()
    age_keys(idempotency.KEY_TTL)
    again = client.post("/api/bookings", json=body, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert bookings() == 1
    (key,) = keys()  # the old row gave way to the new answer
    assert key.response_status == 201 and key.expires_at > utcnow() + timedelta(hours=23)


def test_an_expired_key_may_carry_another_request(client):
    w = make_world()
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-reuse"}
    assert client.post("/api/bookings", json=one_child_body(w), headers=headers).status_code == 201
    age_keys(idempotency.KEY_TTL + timedelta(seconds=1))
    other = {"event_id": w.event.id,
             "items": [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}]}
    resp = client.post("/api/bookings", json=other, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    assert bookings() == 2


@pytest.mark.parametrize("length, status", [(255, 201), (256, 422), (0, 422)])
def test_key_length(client, length, status):
    w = make_world()
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k" * length}
    resp = client.post("/api/bookings", json=one_child_body(w), headers=headers)
    assert resp.status_code == status
    if status == 422:
        assert resp.get_json()["error"]["details"] == {"Idempotency-Key": ["1-255 characters"]}
        assert bookings() == 0 and keys() == []
    else:
        assert bookings() == 1


def test_request_hash_is_order_independent_and_body_sensitive():
    assert idempotency.request_hash(ENDPOINT, {"a": 1, "b": [1, 2]}) == idempotency.request_hash(
        ENDPOINT, {"b": [1, 2], "a": 1})
    assert idempotency.request_hash(ENDPOINT, {"a": 1}) != idempotency.request_hash(
        ENDPOINT, {"a": 2})
    assert idempotency.request_hash(ENDPOINT, {"a": 1}) != idempotency.request_hash(
        "POST /api/bookings/guest", {"a": 1})


def test_a_taken_over_key_fences_out_the_request_that_lost_it(app):
    """A request past its lease lost its key to a retry: it can neither record its answer,
    nor its refusal, nor delete the key the retry now holds."""
    body = {"x": 1}
    dead = idempotency.begin("user:1", "k-fence", ENDPOINT, body)
    idempotency.begin("user:1", "k-other", ENDPOINT, body)  # another dead request's key
    age_keys(idempotency.LEASE + timedelta(seconds=1))
    other_at = keys()[1].created_at
    retry = idempotency.begin("user:1", "k-fence", ENDPOINT, body)
    assert isinstance(retry, idempotency.Claim) and retry.id == dead.id and retry.at != dead.at
    key, other = keys()
    assert key.state == "in_progress"
    # The retry's claim and its own 24 hours; the other key is not touched.
    assert key.created_at == retry.at and key.expires_at == retry.at + idempotency.KEY_TTL
    assert other.created_at == other_at

    with pytest.raises(idempotency.KeyTakenOver) as fenced:
        idempotency.finish(dead, 201, {"booking": "dead"})
    assert fenced.value.status == 409 and fenced.value.code == "idempotency_in_progress"
    assert fenced.value.message == (
        "A retry with this Idempotency-Key took over; its answer is the one that counts")
    db.session.rollback()
    idempotency.abandon(dead)
    idempotency._finish_refused(dead, Conflict("slot_full", "full"))
    key, _other = keys()
    assert key.state == "in_progress" and key.response_body is None

    idempotency.finish(retry, 201, {"booking": "retry"})
    db.session.commit()
    assert idempotency.begin("user:1", "k-fence", ENDPOINT, body) == idempotency.Replay(
        201, {"booking": "retry"})


def test_a_key_within_its_lease_is_not_taken_over(app, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST_SECONDS", 0)
    body = {"x": 1}
    first = idempotency.begin("user:1", "k-lease", ENDPOINT, body)
    age_keys(idempotency.LEASE - timedelta(seconds=5))
    claimed_at = keys()[0].created_at
    with pytest.raises(idempotency.KeyInProgress) as busy:
        idempotency.begin("user:1", "k-lease", ENDPOINT, body)
    assert busy.value.status == 409 and busy.value.headers == {"Retry-After": "1"}
    assert busy.value.message == (
        "A request with this Idempotency-Key is still being processed; retry shortly")
    assert idempotency._take_over(first.id, utcnow()) is None  # nor by a direct grab
    (key,) = keys()
    assert key.state == "in_progress" and key.created_at == claimed_at


def test_a_finished_key_is_never_taken_over(app):
    """A request that finished just as a retry found it past its lease keeps its answer: the
    retry replays it instead of running the request again."""
    body = {"x": 1}
    claim = idempotency.begin("user:1", "k-done", ENDPOINT, body)
    idempotency.finish(claim, 201, {"ok": True})
    db.session.commit()
    age_keys(idempotency.LEASE + timedelta(seconds=1))
    assert idempotency._take_over(claim.id, utcnow()) is None
    aged = idempotency.Claim(claim.id, keys()[0].created_at)
    idempotency.abandon(aged)  # nor dropped
    idempotency._finish_refused(aged, Conflict("slot_full", "full"))  # nor overwritten
    assert idempotency.begin("user:1", "k-done", ENDPOINT, body) == idempotency.Replay(
        201, {"ok": True})


@pytest.mark.parametrize("ending", ["abandon", "refused", "answered"])
def test_a_request_ends_its_own_key_only(app, ending):
    """Two requests claimed keys in the same microsecond; one fails, is refused or answers:
    the other keeps its key as it was."""
    mine = idempotency.begin("user:1", "k-mine", ENDPOINT, {})
    theirs = idempotency.begin("user:2", "k-theirs", ENDPOINT, {})
    db.session.execute(IdempotencyKey.__table__.update().values(created_at=mine.at))
    db.session.commit()
    if ending == "abandon":
        idempotency.abandon(mine)
    elif ending == "refused":
        idempotency._finish_refused(mine, Conflict("slot_full", "full"))
    else:
        idempotency.finish(mine, 201, {"ok": True})
        db.session.commit()
    assert [(k.id, k.state) for k in keys() if k.id != mine.id] == [(theirs.id, "in_progress")]


def test_abandon_frees_the_key_for_a_retry(app):
    body = {"x": 1}
    claim = idempotency.begin("user:1", "k-free", ENDPOINT, body)
    idempotency.abandon(claim)
    assert keys() == []
    assert isinstance(idempotency.begin("user:1", "k-free", ENDPOINT, body), idempotency.Claim)


def test_a_refusal_is_recorded_with_the_error_body(app):
    claim = idempotency.begin("user:1", "k-refused", ENDPOINT, {"x": 1})
    idempotency._finish_refused(claim, Conflict("slot_full", "This slot is full"))
    assert idempotency.begin("user:1", "k-refused", ENDPOINT, {"x": 1}) == idempotency.Replay(
        409, {"error": {"code": "slot_full", "message": "This slot is full", "details": {}}})


def test_purge_drops_expired_keys_only(app):
    idempotency.begin("user:1", "old", ENDPOINT, {})
    age_keys(idempotency.KEY_TTL + timedelta(seconds=1))
    idempotency.begin("user:1", "new", ENDPOINT, {})
    assert idempotency.purge_expired() == 1
    db.session.commit()
    assert [k.key for k in keys()] == ["new"]
    assert idempotency.purge_expired() == 0


# --- found by the second mutation run (booking/idempotency, 2026-12-05) ------------------------


def test_a_key_deleted_between_claim_and_read_is_claimed_again(app, monkeypatch):
    """The first request lets its key go (abandons it) just after a retry's claim met it and
    before the retry reads it: the retry finds no key and claims a fresh one."""
    body = {"x": 1}
    first = idempotency.begin("user:1", "k-gone", ENDPOINT, body)
    real_claim = idempotency._claim

    def claim_then_the_first_lets_go(conn, values):
        claimed = real_claim(conn, values)
        if claimed is None:
            idempotency.abandon(first)  # on its own connection, committed
        return claimed

    monkeypatch.setattr(idempotency, "_claim", claim_then_the_first_lets_go)
    retry = idempotency.begin("user:1", "k-gone", ENDPOINT, body)
    assert isinstance(retry, idempotency.Claim) and retry.id != first.id
    (key,) = keys()
    assert (key.id, key.state, key.created_at) == (retry.id, "in_progress", retry.at)


@pytest.mark.parametrize("error, kept", [
    (idempotency.KeyInProgress(), False),  # about a key the work used, not this request
    (AppError("bad_request", "Not like this", 400), True),  # the lowest 4xx: a final answer
    (AppError("internal", "Broke", 500), False),  # a 5xx is no answer
])
def test_which_refusals_from_the_work_are_the_keys_answer(client, monkeypatch, error, kept):
    """A 4xx refusal is the key's answer, replayed; a 5xx, or an `idempotency_*` 409 raised
    by the work itself, frees the key and a retry runs the request again."""
    from nibog.booking import service

    w = make_world()
    headers = {**auth_headers(w.parent), "Idempotency-Key": "k-work"}
    real = service.create_booking

    def refuse(**kwargs):
        raise error

    monkeypatch.setattr(service, "create_booking", refuse)
    resp = client.post("/api/bookings", json=one_child_body(w), headers=headers)
    assert (resp.status_code, error_code(resp)) == (error.status, error.code)
    monkeypatch.setattr(service, "create_booking", real)
    again = client.post("/api/bookings", json=one_child_body(w), headers=headers)
    if kept:
        assert again.status_code == 400 and again.get_json() == resp.get_json()
        assert again.headers.get("Idempotent-Replayed") == "true" and bookings() == 0
    else:
        assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
        assert bookings() == 1


def test_a_key_sent_to_another_endpoint_is_refused_as_reused(app):
    """One parent's key, the same body, another endpoint (a booking, then a payment): not the
    first endpoint's answer replayed, but 409 `idempotency_key_reused`."""
    claim = idempotency.begin("user:1", "k-endpoint", ENDPOINT, {"x": 1})
    idempotency.finish(claim, 201, {"booking": 1})
    db.session.commit()
    with pytest.raises(Conflict) as reused:
        idempotency.begin("user:1", "k-endpoint", "payments.create", {"x": 1})
    assert (reused.value.status, reused.value.code, reused.value.message) == (
        409, "idempotency_key_reused",
        "This Idempotency-Key was already used with a different request")
