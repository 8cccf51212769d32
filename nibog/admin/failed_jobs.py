"""Failed jobs, for admins: RQ's failed registries plus outbox rows that could not be handed over
(Redis down for long, or in-process failures in the embedded mode), and failed messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from nibog.core.errors import AppError, NotFound
from nibog.core.jobs import QUEUES
from nibog.core.models import OutboxJob
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db, get_redis
from nibog.notifications.models import NotificationLog


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
                    "args": args[1:],
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
            "args": row.args or [],
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


def requeue(job_id: str) -> None:
    """Run a failed RQ job again (its retries start over)."""
    conn = get_redis()
    if conn is None:
        raise AppError("no_queue", "Jobs run in-process here: use `flask relay-outbox`", 409)
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=conn)
        job.requeue()
    except (NoSuchJobError, InvalidJobOperation):
        raise NotFound("Failed job") from None
