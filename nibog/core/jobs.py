"""Enqueue-after-commit, through a job outbox.

A job is declared with ``@job("queue")`` and queued with ``func.delay(ids...)``, which records
it with the current session, and the transaction writes it as an ``OutboxJob`` row just before
it commits (one INSERT for all its jobs), so the job is committed in the SAME transaction as the
change that caused it. When that transaction commits the job is handed over (``nibog.core.outbox``): pushed to RQ
(with a ``REDIS_URL``) or run in-process (the embedded default), and the row is marked relayed. On
rollback - of the transaction, or of the savepoint the job was queued in - the job is dropped
and no row is written, so a rolled-back booking sends nothing.

If Redis is unreachable at that moment the row simply stays pending; ``outbox.relay_outbox``
(periodic, ``flask relay-outbox`` and every worker start) pushes it later. A job may therefore run twice
(a crash between the push and the mark): jobs take ids, load fresh state and are idempotent.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from nibog.core import boundary, metrics
from nibog.core.logging import current_request_id, job_request_id
from nibog.core.models import OutboxJob
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
# The application factory, for a job that runs outside an app context (an RQ work horse started
# without one). create_app registers itself here: the core never imports the app it serves.
_app_factory = None
READY = "nibog_ready_jobs"


@dataclass
class JobSpec:
    func: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    retries: int = 3
    outbox_id: int | None = None
    # The request (or job) that queued it: its log lines and error reports carry the same id.
    request_id: str | None = None
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
    request_id = current_request_id()
    session.info.setdefault(_PENDING, []).append(
        JobSpec(
            func=func, args=args, kwargs=kwargs, queue=queue, retries=retries,
            request_id=request_id,
            row={"queue": queue, "func": func, "args": stored_args, "kwargs": stored_kwargs or None,
                 "retries": retries, "request_id": request_id},
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
    session.info.setdefault(READY, []).extend(s for s in pending if s.outbox_id is not None)


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


def use_app_factory(factory) -> None:
    global _app_factory
    _app_factory = factory


def run_job(func_path: str, *args: Any, **kwargs: Any) -> Any:
    """Entry point RQ calls: runs the job inside an app context (the worker pushes one)."""
    from rq import get_current_job

    current = get_current_job()
    queue = current.origin if current is not None else "default"
    request_id = (current.meta or {}).get("request_id") if current is not None else None
    if has_app_context():
        return observed_call(queue, request_id, func_path, args, kwargs)
    if _app_factory is None:
        raise RuntimeError("no app to run the job in: create_app() was never called here")
    with _app_factory().app_context():
        try:
            return observed_call(queue, request_id, func_path, args, kwargs)
        finally:
            db.session.remove()


def observed_call(queue: str, request_id: str | None, func_path: str, args, kwargs) -> Any:
    """``_call`` counted (started, failed, duration per queue) and logged under the id of the
    request that queued it."""
    token = job_request_id.set(request_id)
    metrics.JOBS_STARTED.labels(queue).inc()
    started = time.perf_counter()
    try:
        return _call(func_path, args, kwargs)
    except Exception:
        metrics.JOBS_FAILED.labels(queue).inc()
        raise
    finally:
        metrics.JOB_DURATION.labels(queue).observe(time.perf_counter() - started)
        job_request_id.reset(token)


def count_queued(specs) -> None:
    for spec in specs:
        metrics.JOBS_QUEUED.labels(spec.queue).inc()


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
