"""Failed jobs, for admins: RQ's failed registries plus outbox rows that could not be handed over
(Redis down for long, or in-process failures in the embedded mode), and failed messages."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from nibog.core.errors import AppError, NotFound
from nibog.core.jobs import QUEUES, enqueue
from nibog.core.models import OutboxJob
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db, get_redis
from nibog.notifications.models import NotificationLog
from nibog.notifications.tasks import DELIVER, ONE_TIME_SECRETS


def _redact(value):
    """Job arguments as shown to admins: message contexts' one-time secrets (a reset link, an
    OTP) hidden."""
    if isinstance(value, dict):
        return {k: "[redacted]" if k in ONE_TIME_SECRETS else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def _last_line(text: str | None) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1][:500] if lines else ""


def list_failed(limit: int = 100) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    conn = get_redis()
    if conn is not None:
        from rq import Queue
        from rq.job import Job

        for name in QUEUES:
            registry = Queue(name, connection=conn).failed_job_registry
            for job in Job.fetch_many(registry.get_job_ids(0, limit - 1), connection=conn):
                if job is None:
                    continue
                args = list(job.args or ())
                result = job.latest_result()
                items.append({
                    "source": "rq",
                    "id": job.id,
                    "queue": name,
                    "func": args[0] if args else job.func_name,
                    "args": _redact(args[1:]),
                    "error": _last_line(result.exc_string if result else ""),
                    "failed_at": isoformat_ist(job.ended_at),
                    "attempts": None,
                })
    stuck = db.session.scalars(
        select(OutboxJob)
        .where(OutboxJob.relayed_at.is_(None), OutboxJob.last_error.is_not(None))
        .order_by(OutboxJob.id.desc())
        .limit(limit)
    ).all()
    items += [
        {
            "source": "outbox",
            "id": f"outbox-{row.id}",
            "queue": row.queue,
            "func": row.func,
            "args": _redact(row.args or []),
            "error": _last_line(row.last_error),
            "failed_at": isoformat_ist(row.created_at),
            "attempts": row.attempts,
        }
        for row in stuck
    ]
    messages = db.session.scalars(
        select(NotificationLog)
        .where(NotificationLog.status == "failed")
        .order_by(NotificationLog.id.desc())
        .limit(limit)
    ).all()
    items += [
        {
            "source": "notification",
            "id": f"notification-{m.id}",
            "queue": "notifications",
            "func": f"{m.channel}:{m.template}",
            "args": [m.recipient],
            "error": _last_line(m.error),
            "failed_at": isoformat_ist(m.updated_at),
            "attempts": m.attempts,
        }
        for m in messages
    ]
    return {"items": items, "total": len(items)}


# The ids RQ accepts (rq.job.validate_job_id).
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def requeue(job_id: str) -> None:
    """Run a failed job again (its retries start over); a failed message is sent again.

    A message's delivery job finds its log entry ``failed`` and would do nothing: the entry is
    reopened and a fresh delivery queued (after the caller's commit) instead.
    """
    if job_id.startswith("notification-"):
        _resend(_message_id(job_id), context=None)
        return
    if not _JOB_ID.fullmatch(job_id):
        # RQ refuses other ids with a ValueError (a 500 before); no job can have one.
        raise NotFound("Failed job")
    conn = get_redis()
    if conn is None:
        raise AppError("no_queue", "Jobs run in-process here: use `flask relay-outbox`", 409)
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=conn)
        args = list(job.args or ())
        if args and args[0] == DELIVER and len(args) >= 3:
            # "queued": the job crashed before deciding (a timeout, an unexpected error).
            _resend(args[1], context=args[2], reopen=("failed", "queued"))
            job.delete()
            return
        job.requeue()
    except (NoSuchJobError, InvalidJobOperation):
        raise NotFound("Failed job") from None


def _message_id(job_id: str) -> int:
    try:
        return int(job_id.removeprefix("notification-"))
    except ValueError:
        raise NotFound("Failed job") from None


def _resend(log_id: int, *, context: dict | None, reopen: tuple[str, ...] = ("failed",)) -> None:
    entry = db.session.get(NotificationLog, log_id, with_for_update=True)
    if entry is None or entry.status not in reopen:
        raise NotFound("Failed message")
    if context is None:
        # The message's content went with its delivery job, kept in the outbox for a while.
        context = db.session.scalar(
            select(OutboxJob.args)
            .where(OutboxJob.func == DELIVER, OutboxJob.args[0].as_integer() == log_id)
            .order_by(OutboxJob.id.desc())
            .limit(1)
        )
        if not context or len(context) < 2:
            raise AppError("message_content_gone",
                           "This message's content is no longer kept; it cannot be resent", 409)
        context = context[1]
    entry.status, entry.error, entry.attempts = "queued", None, 0
    enqueue(DELIVER, log_id, context, queue="notifications")
