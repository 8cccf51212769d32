"""The declarative periodic jobs: each period is claimed once in Redis, however many workers
run the scheduler, and the queued job really runs on a worker."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from nibog.booking.models import IdempotencyKey
from nibog.core import boundary, housekeeping
from nibog.core.jobs import resolve
from nibog.core.periodic import PeriodicJob, enqueue_due_jobs
from nibog.core.timeutil import utcnow
from nibog.extensions import db, get_redis
from nibog.tasks import PERIODIC_JOBS


def _key(key: str, expires_in: timedelta) -> IdempotencyKey:
    return IdempotencyKey(scope="user:1", key=key, endpoint="bookings.create", request_hash="x",
                          expires_at=utcnow() + expires_in)


def test_each_period_is_queued_once_and_runs(app):
    db.session.add_all([_key("old", timedelta(hours=-1)), _key("fresh", timedelta(hours=1))])
    boundary.commit()
    conn = get_redis()
    jobs = [PeriodicJob(housekeeping.purge_expired, 3600, "default")]

    assert enqueue_due_jobs(conn, jobs, now=1_000_000) == ["nibog.core.housekeeping.purge_expired"]
    # A second scheduler (another worker) in the same period queues nothing.
    assert enqueue_due_jobs(conn, jobs, now=1_000_001) == []
    queue = Queue("default", connection=conn)
    assert queue.count == 1

    SimpleWorker([queue], connection=conn).work(burst=True)
    db.session.expire_all()
    assert db.session.scalars(select(IdempotencyKey.key)).all() == ["fresh"]
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_every_declared_periodic_job_resolves(app):
    for job in PERIODIC_JOBS:
        # What the worker will import by name is the very function listed.
        assert resolve(job.path) is job.func, job.path
        assert job.queue in ("default", "notifications", "payments", "reports")
