"""Idempotency-Key handling for create endpoints, kept in PostgreSQL next to the bookings.

The key row is inserted ``in_progress`` in its own, immediately committed transaction, so a
concurrent retry sees it at once: it waits briefly for the first request to finish and replays
its response, or gets ``409 idempotency_in_progress``. The finished response is written in the
same transaction as the booking, so "booking exists" and "key answers with it" commit together.
A final refusal (a 4xx ``AppError``: slot_full, already_booked, ...) is the answer too: it is
stored (its work rolled back) and replayed, as the contract says. A 5xx, an unexpected error, or
a 409 ``idempotency_*`` (about the key, not the request) deletes the key: the client may retry.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import Response, jsonify
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from nibog.booking.models import IdempotencyKey
from nibog.core import boundary, locking
from nibog.core.errors import AppError, Conflict, ValidationFailed
from nibog.core.timeutil import as_utc, utcnow
from nibog.extensions import db

KEY_TTL = timedelta(hours=24)
WAIT_FOR_FIRST_SECONDS = 5.0
# A key still in progress after this long lost its request (a killed worker never deletes
# it): the next retry takes it over instead of waiting a day. Past gunicorn's timeout (60 s),
# so a request that is merely slow was killed by then; and if it was not, the claim below
# makes sure only one of the two can commit.
LEASE = timedelta(minutes=2)
POLL_SECONDS = 0.05
MAX_KEY_LENGTH = 255


@dataclass
class Replay:
    status: int
    body: dict


@dataclass(frozen=True)
class Claim:
    """This request's hold on a key: the row, and the moment it was claimed (a takeover moves
    it, so the request that lost the key cannot record its answer, and rolls back)."""

    id: int
    at: object


def request_hash(endpoint: str, body) -> str:
    canonical = json.dumps([endpoint, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _insert_stmt(values: dict):
    dialect = db.engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(IdempotencyKey).values(**values).on_conflict_do_nothing(
        index_elements=["scope", "key"]
    )


def _claim(conn, values: dict) -> int | None:
    """The key's id if this request claimed it; None if another request holds it."""
    if locking.guards.idempotency_claim:
        # One statement, "insert unless present" on unique (scope, key): of two requests at
        # once exactly one gets the row.
        return conn.execute(_insert_stmt(values).returning(IdempotencyKey.id)).scalar()
    # Unguarded (tests only, the control): read, then write whatever is there now - two
    # statements, so a claim made in between is overwritten (last writer wins).
    held = conn.execute(select(IdempotencyKey.id).where(
        IdempotencyKey.scope == values["scope"], IdempotencyKey.key == values["key"])).scalar()
    if held is not None:
        return None
    locking.pause("idempotency_claim")
    dialect = db.engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(IdempotencyKey).values(**values)
    fresh = {name: stmt.excluded[name] for name in values if name not in ("scope", "key")}
    return conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["scope", "key"],
            set_={**fresh, "response_status": None, "response_body": None},
        ).returning(IdempotencyKey.id)
    ).scalar()


def begin(scope: str, key: str, endpoint: str, body) -> Claim | Replay:
    """Claim the key or answer with the first request's response."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed({"Idempotency-Key": [f"1-{MAX_KEY_LENGTH} characters"]})
    digest = request_hash(endpoint, body)
    deadline = time.monotonic() + WAIT_FOR_FIRST_SECONDS
    while True:
        now = utcnow()
        values = {"scope": scope, "key": key, "endpoint": endpoint, "request_hash": digest,
                  "state": "in_progress", "expires_at": now + KEY_TTL, "created_at": now}
        with db.engine.begin() as conn:
            claimed = _claim(conn, values)
            if claimed is None:
                row = conn.execute(
                    select(IdempotencyKey.__table__).where(
                        IdempotencyKey.scope == scope, IdempotencyKey.key == key
                    )
                ).one_or_none()
                if row is not None and as_utc(row.expires_at) <= now:
                    conn.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
                    continue
        if claimed is not None:
            if locking.guards.idempotency_claim:
                locking.pause("idempotency_claim")  # committed: a retry now finds the key
            return Claim(claimed, now)
        if row is None:
            continue  # deleted between our insert and select: try to claim it again
        if row.request_hash != digest:
            raise Conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request",
            )
        if row.state == "done":
            return Replay(row.response_status, row.response_body)
        if as_utc(row.created_at) <= now - LEASE:
            taken = _take_over(row.id, now)
            if taken is not None:
                return taken  # else another retry took it first: wait for that one, below
        if time.monotonic() >= deadline:
            raise KeyInProgress()
        time.sleep(POLL_SECONDS)


def _take_over(key_id: int, now) -> Claim | None:
    with db.engine.begin() as conn:
        # Still past its lease when the row lock is ours: a second retry taking over at the
        # same moment finds the lease renewed and waits instead.
        moved = conn.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == key_id, IdempotencyKey.state == "in_progress",
                   IdempotencyKey.created_at <= now - LEASE)
            .values(created_at=now, expires_at=now + KEY_TTL)
            .returning(IdempotencyKey.id)
        ).scalar()
    return Claim(key_id, now) if moved is not None else None


class KeyInProgress(AppError):
    def __init__(
        self,
        message: str = "A request with this Idempotency-Key is still being processed; retry shortly",
    ):
        super().__init__("idempotency_in_progress", message, 409, headers={"Retry-After": "1"})


class KeyTakenOver(KeyInProgress):
    def __init__(self):
        super().__init__(
            "A retry with this Idempotency-Key took over; its answer is the one that counts"
        )


def finish(claim: Claim, status: int, body: dict) -> None:
    """Record the response in the caller's transaction (it commits with the booking); if the
    key was taken over meanwhile, raise so that the caller's work rolls back."""
    done = db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.id, IdempotencyKey.created_at == claim.at,
               IdempotencyKey.state == "in_progress")
        .values(state="done", response_status=status, response_body=body)
    )
    if done.rowcount != 1:
        raise KeyTakenOver()


def abandon(claim: Claim) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.id == claim.id, IdempotencyKey.created_at == claim.at,
                IdempotencyKey.state == "in_progress",
            )
        )


def respond(
    *, scope: str, key: str | None, endpoint: str, body, produce: Callable[[], tuple[dict, int]]
) -> Response:
    """An idempotent create: run ``produce`` once per key (the request's boundary commits)."""
    if key is None:
        payload, status = produce()
        return _json(payload, status)
    claimed = begin(scope, key, endpoint, body)
    if isinstance(claimed, Replay):
        resp = _json(claimed.body, claimed.status)
        resp.headers["Idempotent-Replayed"] = "true"
        return resp
    # Released if the request's unit of work rolls back (an error, a failed commit) - or, for
    # a final refusal, kept as the key's answer (its work rolled back all the same).
    refused: list[AppError] = []

    def release() -> None:
        if refused:
            _finish_refused(claimed, refused[0])
        else:
            abandon(claimed)

    boundary.on_rollback(release)
    try:
        payload, status = produce()
    except AppError as exc:
        if 400 <= exc.status < 500 and not exc.code.startswith("idempotency_"):
            refused.append(exc)
        raise
    finish(claimed, status, payload)
    return _json(payload, status)


def _finish_refused(claim: Claim, exc: AppError) -> None:
    """Record a refusal as the key's answer (the body the error handler sends), on its own
    transaction: the request's work has rolled back."""
    body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details or {}}}
    with db.engine.begin() as conn:
        conn.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == claim.id, IdempotencyKey.created_at == claim.at,
                   IdempotencyKey.state == "in_progress")
            .values(state="done", response_status=exc.status, response_body=body)
        )


def _json(payload: dict, status: int) -> Response:
    resp = jsonify(payload)
    resp.status_code = status
    return resp


def purge_expired() -> int:
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow()))
    return result.rowcount or 0
