"""The declarative list of periodic jobs, and how the worker schedules them.

Each entry runs every ``seconds`` on its queue. Every worker runs a small scheduler thread that
claims each entry's period with ``SET NX EX`` in Redis before enqueueing it, so however many workers
run, one run per period is queued, and nothing depends on a chain of self-rescheduling jobs that a
lost job or a Redis flush could break.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    func: str
    seconds: int
    queue: str = "default"


# Feature packages append their entries here.
PERIODIC_JOBS: list[PeriodicJob] = [
    # Jobs whose after-commit push met a Redis outage (nothing a parent must receive is lost).
    PeriodicJob("nibog.core.jobs.relay_outbox", 60, "default"),
    PeriodicJob("nibog.core.jobs.purge_relayed_outbox", 24 * 3600, "default"),
    # Reminder the day before the event, once per booking (the job is idempotent; hourly is enough).
    PeriodicJob("nibog.notifications.tasks.send_event_reminders", 3600, "notifications"),
    # Expired idempotency keys (and OTPs when the auth module keeps them in the database).
    PeriodicJob("nibog.core.housekeeping.purge_expired", 3600, "default"),
    # Unpaid booking holds past their deadline free their seats (BOOKING_HOLD_SECONDS is 15 min).
    PeriodicJob("nibog.booking.tasks.expire_holds", 30, "default"),
    # Unclaimed waiting-list offers expire and their seats are offered to the next family.
    PeriodicJob("nibog.booking.waitlist_tasks.expire_waitlist_offers", 60, "default"),
    # Live bookings left in a cancelled event (they committed just after its cancellation).
    PeriodicJob("nibog.booking.tasks.cancel_bookings_of_cancelled_events", 300, "default"),
]
# Retention (nibog.ops.retention): old message logs, guests who never came back.
PERIODIC_JOBS.append(PeriodicJob("nibog.ops.retention.purge_old_notifications", 24 * 3600))
PERIODIC_JOBS.append(PeriodicJob("nibog.ops.retention.purge_abandoned_guests", 24 * 3600))
# Payments left `created` past STUCK_PAYMENT_MINUTES are settled against the gateway's status API.
PERIODIC_JOBS.append(PeriodicJob("nibog.payments.tasks.reconcile_stuck_payments", 300, "payments"))

_KEY = "nibog:periodic:"


def _unique(jobs: list[PeriodicJob]) -> list[PeriodicJob]:
    seen: set[str] = set()
    out = []
    for job in jobs:
        if job.func not in seen:
            seen.add(job.func)
            out.append(job)
    return out


def enqueue_due_jobs(conn, jobs: list[PeriodicJob] | None = None, now: float | None = None) -> list[str]:
    """One scheduler pass: enqueue every entry whose period has not been claimed yet."""
    from rq import Queue

    from nibog.core.jobs import FAILED_JOB_TTL, run_job
    from nibog.core.metrics import JOBS_QUEUED

    now = time.time() if now is None else now
    queued = []
    for job in _unique(PERIODIC_JOBS if jobs is None else jobs):
        if not conn.set(_KEY + job.func, str(int(now)), nx=True, ex=max(1, int(job.seconds))):
            continue
        Queue(job.queue, connection=conn).enqueue_call(
            func=run_job,
            args=(job.func,),
            job_id=f"periodic-{job.func.replace('.', '_')}-{int(now) // max(1, job.seconds)}",
            description=f"periodic {job.func}",
            failure_ttl=FAILED_JOB_TTL,
            result_ttl=3600,
        )
        JOBS_QUEUED.labels(job.queue).inc()
        queued.append(job.func)
    return queued


def run_scheduler(conn, stop: threading.Event, every: float = 1.0) -> None:
    while not stop.is_set():
        try:
            for func in enqueue_due_jobs(conn):
                log.info("periodic job queued: %s", func)
        except Exception:  # noqa: BLE001 - a Redis blip must not kill the scheduler thread
            log.exception("periodic scheduler pass failed")
        stop.wait(every)


def register_periodic_jobs(conn) -> threading.Event:
    """Start the scheduler thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_scheduler, args=(conn, stop), name="nibog-periodic", daemon=True
    )
    thread.start()
    return stop


def tick(func: str, *_ignored) -> None:
    """Compatibility: runs one periodic job (older schedules enqueued this)."""
    from nibog.core.jobs import resolve

    resolve(func)()
