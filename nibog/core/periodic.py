"""The declarative list of periodic jobs, and how the worker schedules them.

Each entry runs every ``seconds`` on its queue. Scheduling is idempotent: a lock in Redis keeps
several workers from stacking duplicate schedules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    func: str
    seconds: int
    queue: str = "default"


# Feature packages append their entries here (see each feature's tasks module).
PERIODIC_JOBS: list[PeriodicJob] = []
# Waiting list: unpaid offers pass on to the next entry within a minute of their deadline.
PERIODIC_JOBS.append(PeriodicJob("nibog.booking.waitlist_tasks.expire_waitlist_offers", 60))


def register_periodic_jobs(conn) -> None:
    """Start the tick loop: a self-rescheduling job per entry, guarded by a Redis lock."""
    from datetime import timedelta

    from rq import Queue

    from nibog.core.jobs import run_job

    for job in PERIODIC_JOBS:
        lock = f"periodic:{job.func}"
        if not conn.set(lock, "1", nx=True, ex=job.seconds):
            continue
        Queue(job.queue, connection=conn).enqueue_in(
            timedelta(seconds=1), run_job, "nibog.core.periodic.tick", job.func, job.seconds, job.queue
        )
        log.info("scheduled periodic job %s every %ss", job.func, job.seconds)


def tick(func: str, seconds: int, queue: str) -> None:
    """Run one periodic job, then schedule the next run."""
    from datetime import timedelta

    from rq import Queue

    from nibog.core.jobs import resolve, run_job
    from nibog.extensions import get_redis

    conn = get_redis()
    try:
        resolve(func)()
    finally:
        if conn is not None:
            conn.set(f"periodic:{func}", "1", ex=seconds + 5)
            Queue(queue, connection=conn).enqueue_in(
                timedelta(seconds=seconds), run_job, "nibog.core.periodic.tick", func, seconds, queue
            )
