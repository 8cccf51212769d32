"""Enqueue-after-commit.

``enqueue("nibog.notifications.tasks.send_booking_confirmed", booking_id, queue="notifications")``
records the job on the current session. When that session commits, the job goes to RQ (with a
``REDIS_URL``), or runs in-process (the embedded default and ``JOBS_SYNC``). On rollback it is
dropped. Jobs take ids, never objects, and must be safe to run twice.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from nibog.extensions import db, get_redis

log = logging.getLogger(__name__)

QUEUES = ("default", "notifications", "payments", "reports")

_PENDING = "nibog_pending_jobs"
_READY = "nibog_ready_jobs"


@dataclass
class JobSpec:
    func: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    retries: int = 3


def enqueue(func: str, *args: Any, queue: str = "default", retries: int = 3, **kwargs: Any) -> None:
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    db.session.info.setdefault(_PENDING, []).append(
        JobSpec(func=func, args=args, kwargs=kwargs, queue=queue, retries=retries)
    )


@event.listens_for(Session, "after_commit")
def _promote_on_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_READY, []).extend(pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def discard_pending_jobs() -> None:
    db.session.info.pop(_PENDING, None)


def resolve(func_path: str):
    module_name, _, attr = func_path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def run_job(func_path: str, *args: Any, **kwargs: Any) -> Any:
    """Entry point RQ calls: runs the job inside an app context (the worker pushes one)."""
    if has_app_context():
        return resolve(func_path)(*args, **kwargs)
    from nibog import create_app

    with create_app().app_context():
        return resolve(func_path)(*args, **kwargs)


def rq_queue(name: str):
    from rq import Queue

    conn = get_redis()
    return Queue(name, connection=conn, is_async=not current_app.config.get("JOBS_SYNC"))


def dispatch_committed_jobs() -> None:
    """Hand over every job whose transaction has committed. Reentrant-safe."""
    session = db.session()
    if session.info.get("nibog_dispatching"):
        return
    session.info["nibog_dispatching"] = True
    try:
        while session.info.get(_READY):
            spec: JobSpec = session.info[_READY].pop(0)
            _dispatch(spec)
    finally:
        session.info["nibog_dispatching"] = False


def _dispatch(spec: JobSpec) -> None:
    redis_conn = get_redis()
    if redis_conn is not None:
        from rq import Retry

        retry = Retry(max=spec.retries, interval=[10, 60, 300][: spec.retries]) if spec.retries else None
        rq_queue(spec.queue).enqueue_call(
            func=run_job, args=(spec.func, *spec.args), kwargs=spec.kwargs, retry=retry
        )
        return
    # Embedded default: no broker, run now. A failing job must not fail the request that
    # already committed; it is logged for the operator.
    try:
        resolve(spec.func)(*spec.args, **spec.kwargs)
    except Exception:  # noqa: BLE001
        log.exception("in-process job failed", extra={"job": spec.func})
        db.session.rollback()
