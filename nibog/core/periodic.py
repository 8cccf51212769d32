"""How the worker schedules periodic jobs (the list itself: ``nibog.tasks.PERIODIC_JOBS``).

Each entry runs every ``seconds`` on its queue. Every worker runs a small scheduler thread that
claims each entry's period with ``SET NX EX`` in Redis before enqueueing it, so however many workers
run, one run per period is queued, and nothing depends on a chain of self-rescheduling jobs that a
lost job or a Redis flush could break.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from nibog.core.jobs import FAILED_JOB_TTL, resolve, run_job
from nibog.core.metrics import JOBS_QUEUED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    func: Callable[[], object]
    seconds: int
    queue: str = "default"

    @property
    def path(self) -> str:
        """The dotted name the worker resolves (the job's identity in Redis and RQ)."""
        return f"{self.func.__module__}.{self.func.__qualname__}"


_KEY = "nibog:periodic:"


def _unique(jobs: list[PeriodicJob]) -> list[PeriodicJob]:
    seen: set[str] = set()
    out = []
    for job in jobs:
        if job.path not in seen:
            seen.add(job.path)
            out.append(job)
    return out


def enqueue_due_jobs(conn, jobs: list[PeriodicJob], now: float | None = None) -> list[str]:
    """One scheduler pass: enqueue every entry whose period has not been claimed yet."""
    from rq import Queue


    now = time.time() if now is None else now
    queued = []
    for job in _unique(jobs):
        if not conn.set(_KEY + job.path, str(int(now)), nx=True, ex=max(1, int(job.seconds))):
            continue
        Queue(job.queue, connection=conn).enqueue_call(
            func=run_job,
            args=(job.path,),
            job_id=f"periodic-{job.path.replace('.', '_')}-{int(now) // max(1, job.seconds)}",
            description=f"periodic {job.path}",
            failure_ttl=FAILED_JOB_TTL,
            result_ttl=3600,
        )
        JOBS_QUEUED.labels(job.queue).inc()
        queued.append(job.path)
    return queued


def run_scheduler(
    conn, jobs: list[PeriodicJob], stop: threading.Event, every: float = 1.0
) -> None:
    while not stop.is_set():
        try:
            for func in enqueue_due_jobs(conn, jobs):
                log.info("periodic job queued: %s", func)
        except Exception:  # noqa: BLE001 - a Redis blip must not kill the scheduler thread
            log.exception("periodic scheduler pass failed")
        stop.wait(every)


def register_periodic_jobs(conn, jobs: list[PeriodicJob]) -> threading.Event:
    """Start the scheduler thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_scheduler, args=(conn, jobs, stop), name="nibog-periodic", daemon=True
    )
    thread.start()
    return stop


def tick(func: str, *_ignored) -> None:
    """Compatibility: runs one periodic job (older schedules enqueued this)."""
    resolve(func)()
