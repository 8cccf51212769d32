"""Enqueue-after-commit, through a job outbox.

``enqueue("nibog.notifications.tasks.deliver", log_id, ctx, queue="notifications")`` records the
job with the current session, and the transaction writes it as an ``OutboxJob`` row just before
it commits (one INSERT for all its jobs), so the job is committed in the SAME transaction as the
change that caused it. When that transaction commits the job is handed over: pushed to RQ (with a
``REDIS_URL``) or run in-process (the embedded default), and the row is marked relayed. On
rollback - of the transaction, or of the savepoint the job was queued in - the job is dropped
and no row is written, so a rolled-back booking sends nothing.

If Redis is unreachable at that moment the row simply stays pending; ``relay_outbox`` (a periodic
job, ``flask relay-outbox`` and every worker start) pushes it later. A job may therefore run twice
(a crash between the push and the mark): jobs take ids, load fresh state and are idempotent.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from nibog.core import boundary
from nibog.core.models import OutboxJob
from nibog.core.timeutil import utcnow
from nibog.extensions import db, get_redis

log = logging.getLogger(__name__)

QUEUES = ("default", "notifications", "payments", "reports")
DEFAULT_RETRY_INTERVALS = (10, 60, 300)
# A row younger than this may still be on its way through the after-commit push; the periodic
# relay leaves it alone so a healthy commit is not pushed twice.
RELAY_GRACE_SECONDS = 30
# In the embedded mode a failing job is retried by the relay this many times, then left for admins.
MAX_INPROCESS_ATTEMPTS = 5
FAILED_JOB_TTL = 14 * 24 * 3600
# Reports read whole tables; everything else should finish well inside RQ's default 180 s.
JOB_TIMEOUTS = {"reports": 30 * 60}

_PENDING = "nibog_pending_jobs"
_READY = "nibog_ready_jobs"


@dataclass
class JobSpec:
    func: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    retries: int = 3
    outbox_id: int | None = None
    # Until the commit writes it: the outbox row, and the savepoint (if any) it was queued in.
    row: dict[str, Any] | None = None
    savepoint: Any = None


def enqueue(func: str, *args: Any, queue: str = "default", retries: int = 3, **kwargs: Any) -> None:
    """Queue ``func(*args, **kwargs)`` to run after the current transaction commits.

    Arguments must be JSON values (ids, strings, numbers, lists, dicts): they are stored in the
    outbox row.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    # The row must always insert (a bad value would fail the caller's commit): values JSON cannot
    # hold are stored as text; the after-commit dispatch still passes the originals.
    stored_args, stored_kwargs = json.loads(json.dumps([list(args), kwargs], default=str))
    session = db.session()
    session.info.setdefault(_PENDING, []).append(
        JobSpec(
            func=func, args=args, kwargs=kwargs, queue=queue, retries=retries,
            row={"queue": queue, "func": func, "args": stored_args, "kwargs": stored_kwargs or None,
                 "retries": retries},
            savepoint=session.get_nested_transaction(),
        )
    )


def job(queue: str = "default", retries: int = 3):
    """Declare a job: ``@job("notifications")`` gives ``func.delay(*ids)``, an ``enqueue`` of it
    (after the commit, through the outbox) on that queue."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorator(fn):
        path = f"{fn.__module__}.{fn.__qualname__}"

        def delay(*args: Any, **kwargs: Any) -> None:
            enqueue(path, *args, queue=queue, retries=retries, **kwargs)

        fn.delay = delay
        fn.queue = queue
        return fn

    return decorator


_INSERT_OUTBOX = OutboxJob.__table__.insert().returning(
    OutboxJob.__table__.c.id, sort_by_parameter_order=True
)


@event.listens_for(Session, "before_commit")
def _write_outbox_rows(session: Session) -> None:
    """Write the transaction's outbox rows, in one statement, just before it commits.

    Only at the outermost commit (a savepoint's release also fires this event): by then every
    job queued inside a savepoint that rolled back has been dropped (``_drop_on_rollback``).
    """
    if session.get_nested_transaction() is not None:
        return
    pending = [spec for spec in session.info.get(_PENDING) or () if spec.row is not None]
    if not pending:
        return
    ids = session.execute(_INSERT_OUTBOX, [spec.row for spec in pending]).scalars().all()
    for spec, outbox_id in zip(pending, ids, strict=True):
        spec.outbox_id, spec.row, spec.savepoint = outbox_id, None, None


@event.listens_for(Session, "after_commit")
def _promote_on_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint's release: its jobs wait for the real commit (or a rollback)
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    # No SQL may run here; the ids were read when the rows were written.
    session.info.setdefault(_READY, []).extend(s for s in pending if s.outbox_id is not None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
    elif previous_transaction.nested and session.info.get(_PENDING):
        # A savepoint rolled back: so do the jobs queued inside it (or inside one nested in it).
        session.info[_PENDING] = [
            spec for spec in session.info[_PENDING]
            if not _queued_within(spec, previous_transaction)
        ]


def _queued_within(spec: JobSpec, savepoint) -> bool:
    txn = spec.savepoint
    while txn is not None:
        if txn is savepoint:
            return True
        txn = txn.parent
    return False


@boundary.after_rollback
def discard_pending_jobs() -> None:
    db.session.info.pop(_PENDING, None)


def resolve(func_path: str):
    module_name, _, attr = func_path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def run_job(func_path: str, *args: Any, **kwargs: Any) -> Any:
    """Entry point RQ calls: runs the job inside an app context (the worker pushes one)."""
    if has_app_context():
        return _call(func_path, args, kwargs)
    from nibog import create_app

    with create_app().app_context():
        try:
            return _call(func_path, args, kwargs)
        finally:
            db.session.remove()


def _call(func_path: str, args: tuple, kwargs: dict) -> Any:
    # The job's boundary: its work commits once, or rolls back (and its jobs are dropped).
    return boundary.run_unit(resolve(func_path), *args, **kwargs)


def retry_intervals() -> list[int]:
    raw = current_app.config.get("JOB_RETRY_INTERVALS") or DEFAULT_RETRY_INTERVALS
    if isinstance(raw, str):
        raw = [int(x) for x in raw.split(",") if x.strip()]
    return [int(x) for x in raw]


def rq_queue(name: str, connection=None):
    from rq import Queue

    conn = connection if connection is not None else get_redis()
    return Queue(name, connection=conn, is_async=not current_app.config.get("JOBS_SYNC"))


@boundary.after_commit
def dispatch_committed_jobs() -> None:
    """Hand over every job whose transaction has committed. Reentrant-safe."""
    session = db.session()
    if session.info.get("nibog_dispatching"):
        return
    session.info["nibog_dispatching"] = True
    try:
        while ready := session.info.get(_READY):
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
        pipeline=pipeline,
    )


def _run_in_process(spec: JobSpec) -> None:
    # Embedded default: no broker, run now. A failing job must not fail the request that
    # already committed; it stays in the outbox with its error for `flask relay-outbox`.
    try:
        _call(spec.func, spec.args, spec.kwargs)
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
               OutboxJob.retries)
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
                for spec in _coalesced([_spec_from_row(row) for row in rows]):
                    _push(redis_conn, spec, pipeline=pipe)
                pipe.execute()
        except RedisError as exc:
            log.warning("relay stopped, redis unavailable: %s", exc)
            conn.execute(_mark_stmt(("last_error",)), {"ids": ids, "last_error": f"redis: {exc}"[:2000]})
            return 0
        conn.execute(_mark_stmt(("relayed_at",)), {"ids": ids, "relayed_at": utcnow()})
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
