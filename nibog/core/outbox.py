"""Handing committed jobs over: to RQ (one pipeline per commit), or run in-process.

``nibog.core.jobs`` queues a job with the session and writes its outbox row in the same
transaction; after the commit this module pushes the job (``dispatch_committed_jobs``, an
after-commit hook of the boundary) and marks the row relayed. A row whose push met a Redis outage
stays pending until ``relay_outbox`` (periodic, ``flask relay-outbox``, every worker start) pushes
it. A job may therefore run twice: jobs take ids, load fresh state and are idempotent.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import bindparam, select, update

from nibog.core import boundary
from nibog.core.jobs import (
    FAILED_JOB_TTL,
    JOB_TIMEOUTS,
    MAX_INPROCESS_ATTEMPTS,
    READY,
    RELAY_GRACE_SECONDS,
    JobSpec,
    count_queued,
    observed_call,
    retry_intervals,
    rq_queue,
    run_job,
)
from nibog.core.models import OutboxJob
from nibog.core.timeutil import utcnow
from nibog.extensions import db, get_redis

log = logging.getLogger(__name__)


@boundary.after_commit
def dispatch_committed_jobs() -> None:
    """Hand over every job whose transaction has committed. Reentrant-safe."""
    session = db.session()
    if session.info.get("nibog_dispatching"):
        return
    session.info["nibog_dispatching"] = True
    try:
        while ready := session.info.get(READY):
            conn = get_redis()
            if conn is not None and _left_to_relay():
                # Committed rows wait for the worker's relay (JOBS_HANDOFF=relay).
                ready.clear()
            elif conn is not None and not current_app.config.get("JOBS_SYNC"):
                # A request's jobs (the email, the seat counter...) go in one Redis round trip
                # and are marked relayed in one statement.
                batch = list(ready)
                ready.clear()
                _push_batch(conn, batch)
            else:
                # In-process or synchronous RQ: each job runs now and may queue (and commit) more.
                _dispatch(ready.pop(0))
    finally:
        session.info["nibog_dispatching"] = False


def _left_to_relay() -> bool:
    config = current_app.config
    return config.get("JOBS_HANDOFF") == "relay" and not config.get("JOBS_SYNC")


def _dispatch(spec: JobSpec) -> None:
    conn = get_redis()
    if conn is None:
        _run_in_process(spec)
        return
    try:
        _push(conn, spec)
    except RedisError as exc:
        log.warning("redis unavailable, job stays in the outbox: %s (%s)", spec.func, exc)
        _mark([spec.outbox_id], error=f"redis: {exc}")
        return
    count_queued([spec])
    _mark([spec.outbox_id], relayed=True)


def _push_batch(conn, specs: list[JobSpec]) -> None:
    """Push jobs in one MULTI/EXEC: all of them reach their queues, or none and all stay pending."""
    ids = [spec.outbox_id for spec in specs]
    try:
        with conn.pipeline() as pipe:
            for spec in specs:
                _push(conn, spec, pipeline=pipe)
            pipe.execute()
    except RedisError as exc:
        log.warning(
            "redis unavailable, jobs stay in the outbox: %s (%s)",
            ", ".join(spec.func for spec in specs), exc,
        )
        _mark(ids, error=f"redis: {exc}")
        return
    count_queued(specs)
    _mark(ids, relayed=True)


def _push(conn, spec: JobSpec, pipeline=None) -> None:
    from rq import Retry

    intervals = retry_intervals()[: spec.retries] if spec.retries else []
    retry = Retry(max=spec.retries, interval=intervals) if spec.retries else None
    rq_queue(spec.queue, conn).enqueue_call(
        func=run_job,
        args=(spec.func, *spec.args),
        kwargs=spec.kwargs,
        retry=retry,
        job_id=f"outbox-{spec.outbox_id}" if spec.outbox_id else None,
        failure_ttl=FAILED_JOB_TTL,
        timeout=JOB_TIMEOUTS.get(spec.queue),
        description=spec.func,
        meta={"request_id": spec.request_id} if spec.request_id else None,
        pipeline=pipeline,
    )


def _run_in_process(spec: JobSpec) -> None:
    # Embedded default: no broker, run now. A failing job must not fail the request that
    # already committed; it stays in the outbox with its error for `flask relay-outbox`.
    try:
        observed_call(spec.queue, spec.request_id, spec.func, spec.args, spec.kwargs)
    except Exception as exc:  # noqa: BLE001
        log.exception("in-process job failed: %s", spec.func)
        _mark([spec.outbox_id], error=f"{type(exc).__name__}: {exc}")
        return
    _mark([spec.outbox_id], relayed=True)


def _mark(outbox_ids: list[int | None], *, relayed: bool = False, error: str | None = None) -> None:
    """Record the hand-over on its own connection: the caller's session is left untouched."""
    outbox_ids = [i for i in outbox_ids if i is not None]
    if not outbox_ids:
        return
    params: dict[str, Any] = {"ids": outbox_ids}
    if relayed:
        params["relayed_at"] = utcnow()
    if error is not None:
        params["last_error"] = error[:2000]
    with db.engine.begin() as conn:
        conn.execute(_mark_stmt(tuple(sorted(params.keys() - {"ids"}))), params)


_mark_stmts: dict[tuple[str, ...], Any] = {}


def _mark_stmt(fields: tuple[str, ...]):
    """The bookkeeping UPDATE, built once per set of columns (it runs after every commit)."""
    stmt = _mark_stmts.get(fields)
    if stmt is None:
        stmt = _mark_stmts[fields] = (
            update(OutboxJob.__table__)
            .where(OutboxJob.__table__.c.id.in_(bindparam("ids", expanding=True)))
            .values(
                attempts=OutboxJob.__table__.c.attempts + 1,
                **{f: bindparam(f, type_=OutboxJob.__table__.c[f].type) for f in fields},
            )
        )
    return stmt


def _spec_from_row(row) -> JobSpec:
    spec = JobSpec(
        func=row.func,
        args=tuple(row.args or ()),
        kwargs=dict(row.kwargs or {}),
        queue=row.queue,
        outbox_id=row.id,
        request_id=row.request_id,
    )
    if row.retries is not None:
        spec.retries = row.retries
    return spec


# Rows one relay pass pushes (one Redis pipeline, one UPDATE).
RELAY_BATCH = 500


def relay_outbox(grace_seconds: int | None = None, limit: int = RELAY_BATCH) -> int:
    """Push outbox rows that never reached the queue. Returns how many were handed over."""
    grace = RELAY_GRACE_SECONDS if grace_seconds is None else grace_seconds
    cutoff = utcnow() - timedelta(seconds=grace)
    pending = (
        select(OutboxJob.id, OutboxJob.func, OutboxJob.args, OutboxJob.kwargs, OutboxJob.queue,
               OutboxJob.retries, OutboxJob.request_id)
        .where(OutboxJob.relayed_at.is_(None), OutboxJob.created_at <= cutoff)
        .order_by(OutboxJob.id)
        .limit(limit)
    )
    redis_conn = get_redis()
    if redis_conn is None:
        rows = db.session.execute(pending.where(OutboxJob.attempts < MAX_INPROCESS_ATTEMPTS)).all()
        specs = [_spec_from_row(r) for r in rows]
        db.session.rollback()
        for spec in specs:
            _run_in_process(spec)
        return len(specs)

    relayed = 0
    # Rows stay locked (SKIP LOCKED: concurrent relays share the work) on a connection of our own
    # while we push, so a job run synchronously in the session cannot collide with the bookkeeping.
    # One pipeline and one UPDATE per pass: after a sales burst there are thousands of rows.
    with db.engine.connect() as conn, conn.begin():
        rows = conn.execute(pending.with_for_update(skip_locked=True)).all()
        if not rows:
            return 0
        ids = [row.id for row in rows]
        try:
            with redis_conn.pipeline(transaction=False) as pipe:
                specs = _coalesced([_spec_from_row(row) for row in rows])
                for spec in specs:
                    _push(redis_conn, spec, pipeline=pipe)
                pipe.execute()
        except RedisError as exc:
            log.warning("relay stopped, redis unavailable: %s", exc)
            conn.execute(_mark_stmt(("last_error",)), {"ids": ids, "last_error": f"redis: {exc}"[:2000]})
            return 0
        conn.execute(_mark_stmt(("relayed_at",)), {"ids": ids, "relayed_at": utcnow()})
        count_queued(specs)
        relayed = len(ids)
    if relayed:
        log.info("relayed %s outbox jobs", relayed)
    return relayed


def _coalesced(specs: list[JobSpec]) -> list[JobSpec]:
    """One job per (function, arguments) for the functions in COALESCED_JOBS.

    Those jobs only refresh state derived from committed rows (an event's booking count, say):
    every row of this batch is committed, so one run after them does what each would have done.
    In a sales burst every hold queues one; the worker then runs a handful instead of hundreds.
    """
    names = set(current_app.config.get("COALESCED_JOBS", ()))
    if not names:
        return specs
    seen: set[tuple] = set()
    kept = []
    for spec in specs:
        if spec.func in names:
            key = (spec.func, spec.queue, json.dumps([spec.args, spec.kwargs], sort_keys=True,
                                                     default=str))
            if key in seen:
                continue
            seen.add(key)
        kept.append(spec)
    return kept


def run_relay(app, stop, every: float | None = None) -> None:
    """The worker's relay loop (JOBS_HANDOFF=relay): push pending outbox rows until ``stop``."""
    interval = app.config.get("OUTBOX_RELAY_SECONDS", 0.5) if every is None else every
    while not stop.is_set():
        try:
            with app.app_context():
                # A full batch means more are waiting: go again at once.
                busy = relay_outbox(grace_seconds=0) >= RELAY_BATCH
        except Exception:  # noqa: BLE001 - a database or Redis blip must not end the loop
            log.exception("outbox relay pass failed")
            busy = False
        if not busy:
            stop.wait(interval)


def purge_relayed_outbox(days: int = 7) -> int:
    """Relayed rows are history once the job has had time to run; keep the table small."""
    from sqlalchemy import delete

    cutoff = utcnow() - timedelta(days=days)
    result = db.session.execute(
        delete(OutboxJob).where(OutboxJob.relayed_at.is_not(None), OutboxJob.relayed_at < cutoff)
    )
    return result.rowcount or 0
