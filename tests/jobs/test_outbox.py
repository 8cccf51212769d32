"""Enqueue-after-commit through the job outbox: nothing before the commit, nothing after a
rollback, and nothing lost when Redis is down at the moment of the commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nibog.core import boundary
from nibog.core.jobs import enqueue, job
from nibog.core.models import OutboxJob
from nibog.core.outbox import relay_outbox
from nibog.extensions import db
from nibog.notifications.channels import CONSOLE_OUTBOX
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import queue_email
from tests.documents.helpers import make_booking
from tests.factories import UserFactory
from tests.helpers import auth_headers

# Commit mode (docs/testing.md, "Isolation"): the outbox marks hand-overs and relays on connections of its own.
pytestmark = pytest.mark.commits

RUNS: list = []


@pytest.fixture(autouse=True)
def _no_earlier_runs():
    """Each test starts with no recorded run, whatever ran before it (mutmut reorders tests)."""
    RUNS.clear()


def record_run(*args):
    """A job for these tests: remembers that it ran."""
    RUNS.append(args)


def boom(*args):
    raise RuntimeError("the job broke")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_rolled_back_booking_sends_nothing(app):
    booking, info = make_booking(status="pending_payment")
    booking.status = "confirmed"
    queue_email("booking_confirmed", info["user"].email, {"booking_id": booking.id},
                user_id=info["user"].id, booking_id=booking.id)
    enqueue("tests.jobs.test_outbox.record_run", booking.id)
    boundary.rollback()

    assert _count(NotificationLog) == 0
    assert _count(OutboxJob) == 0
    assert RUNS == [] and list(CONSOLE_OUTBOX) == []
    # Another commit on the same session does not resurrect the discarded jobs.
    UserFactory()
    assert RUNS == [] and list(CONSOLE_OUTBOX) == []


def test_job_runs_only_after_commit_and_row_is_marked_relayed(app):
    RUNS.clear()
    enqueue("tests.jobs.test_outbox.record_run", 7, "x")
    db.session.flush()
    assert RUNS == []  # flushed is not committed
    boundary.commit()
    assert RUNS == [(7, "x")]
    row = db.session.scalar(select(OutboxJob))
    assert row.func == "tests.jobs.test_outbox.record_run" and row.args == [7, "x"]
    assert row.relayed_at is not None


def test_savepoint_rolled_back_drops_its_job(app):
    RUNS.clear()
    with db.session.begin_nested():
        enqueue("tests.jobs.test_outbox.record_run", "kept")
    nested = db.session.begin_nested()
    enqueue("tests.jobs.test_outbox.record_run", "dropped")
    nested.rollback()
    boundary.commit()
    assert RUNS == [("kept",)]


def test_savepoint_rollback_drops_jobs_queued_in_it_and_in_savepoints_inside_it(app):
    RUNS.clear()
    enqueue("tests.jobs.test_outbox.record_run", "before")
    outer = db.session.begin_nested()
    enqueue("tests.jobs.test_outbox.record_run", "outer")
    with db.session.begin_nested():
        enqueue("tests.jobs.test_outbox.record_run", "inner")
    outer.rollback()
    with db.session.begin_nested():
        enqueue("tests.jobs.test_outbox.record_run", "after")
    boundary.commit()
    assert RUNS == [("before",), ("after",)]
    assert [r.args for r in db.session.scalars(select(OutboxJob).order_by(OutboxJob.id))] == [
        ["before"], ["after"]
    ]


def test_a_released_savepoint_does_not_send_its_jobs_before_the_real_commit(app):
    RUNS.clear()
    with db.session.begin_nested():
        enqueue("tests.jobs.test_outbox.record_run", "released, then rolled back")
    boundary.rollback()
    enqueue("tests.jobs.test_outbox.record_run", "committed")
    boundary.commit()
    assert RUNS == [("committed",)]
    assert _count(OutboxJob) == 1


def test_redis_outage_at_commit_then_relay_delivers(app, redis_outage):
    start_outage, end_outage = redis_outage
    user = UserFactory()
    start_outage()
    entry = queue_email("welcome", user.email, {"full_name": "Asha"}, user_id=user.id)
    boundary.commit()  # the commit itself succeeds: the job is safe in the outbox

    assert list(CONSOLE_OUTBOX) == []
    row = db.session.scalar(select(OutboxJob))
    assert row.relayed_at is None and "redis" in row.last_error
    assert db.session.get(NotificationLog, entry.id).status == "queued"
    assert relay_outbox(grace_seconds=0) == 0  # still down: nothing moves, nothing is lost
    db.session.expire_all()
    assert db.session.scalar(select(OutboxJob)).relayed_at is None

    end_outage()
    assert relay_outbox(grace_seconds=0) == 1
    db.session.expire_all()
    assert db.session.get(NotificationLog, entry.id).status == "sent"
    assert [m["To"] for m in CONSOLE_OUTBOX] == [user.email]
    assert db.session.scalar(select(OutboxJob)).relayed_at is not None
    # A second relay finds nothing left to push: the parent gets one email.
    assert relay_outbox(grace_seconds=0) == 0
    assert len(CONSOLE_OUTBOX) == 1


def test_periodic_relay_leaves_fresh_rows_to_the_after_commit_push(app, redis_outage):
    start_outage, end_outage = redis_outage
    start_outage()
    enqueue("tests.jobs.test_outbox.record_run", 1)
    boundary.commit()
    end_outage()
    assert relay_outbox() == 0  # younger than the grace period
    assert relay_outbox(grace_seconds=0) == 1


def test_embedded_mode_runs_in_process_and_cli_relays_failures(app, runner, no_redis):
    RUNS.clear()
    enqueue("tests.jobs.test_outbox.record_run", "now")
    enqueue("tests.jobs.test_outbox.boom", 1)
    boundary.commit()
    assert RUNS == [("now",)]
    failed = db.session.scalar(select(OutboxJob).where(OutboxJob.func.like("%boom")))
    assert failed.relayed_at is None and "the job broke" in failed.last_error
    assert failed.attempts == 1

    result = runner.invoke(args=["relay-outbox"])
    assert result.exit_code == 0 and "relayed 1 jobs" in result.output
    db.session.expire_all()
    assert db.session.get(OutboxJob, failed.id).attempts == 2


def test_failed_jobs_are_visible_to_admins(client, app):
    enqueue("tests.jobs.test_outbox.boom", 42, queue="default")
    boundary.commit()
    admin = UserFactory(role="admin")
    resp = client.get("/api/admin/jobs/failed", headers=auth_headers(admin))
    assert resp.status_code == 200
    [job] = [j for j in resp.get_json()["items"] if j["source"] == "rq"]
    assert job["func"] == "tests.jobs.test_outbox.boom" and job["args"] == [42]
    assert "the job broke" in job["error"]

    parent = UserFactory()
    assert client.get("/api/admin/jobs/failed", headers=auth_headers(parent)).status_code == 403


@job("reports", retries=1)
def declared_job(*args):
    RUNS.append(("declared", *args))


def test_job_decorator_enqueues_after_commit_on_its_queue(app):
    RUNS.clear()
    declared_job.delay(5)
    assert RUNS == []
    boundary.commit()
    assert RUNS == [("declared", 5)]
    row = db.session.scalar(select(OutboxJob))
    assert row.queue == "reports" and row.func == "tests.jobs.test_outbox.declared_job"


def test_async_commit_pushes_its_jobs_together_and_marks_them_relayed(app, monkeypatch):
    from rq import Queue, SimpleWorker

    from nibog.extensions import get_redis

    monkeypatch.setitem(app.config, "JOBS_SYNC", False)
    RUNS.clear()
    enqueue("tests.jobs.test_outbox.record_run", 1)
    enqueue("tests.jobs.test_outbox.record_run", 2, queue="reports")
    boundary.commit()
    rows = db.session.scalars(select(OutboxJob).order_by(OutboxJob.id)).all()
    assert [r.relayed_at is not None for r in rows] == [True, True]
    assert [r.attempts for r in rows] == [1, 1]
    conn = get_redis()
    assert Queue("default", connection=conn).job_ids == [f"outbox-{rows[0].id}"]
    assert Queue("reports", connection=conn).job_ids == [f"outbox-{rows[1].id}"]
    assert RUNS == []  # queued, not run
    queues = [Queue(q, connection=conn) for q in ("default", "reports")]
    SimpleWorker(queues, connection=conn).work(burst=True)
    assert sorted(RUNS) == [(1,), (2,)]


def test_async_commit_during_redis_outage_leaves_every_job_pending(app, monkeypatch, redis_outage):
    start_outage, end_outage = redis_outage
    monkeypatch.setitem(app.config, "JOBS_SYNC", False)
    start_outage()
    enqueue("tests.jobs.test_outbox.record_run", 1)
    enqueue("tests.jobs.test_outbox.record_run", 2, queue="reports")
    boundary.commit()
    rows = db.session.scalars(select(OutboxJob).order_by(OutboxJob.id)).all()
    assert all(r.relayed_at is None and "redis" in r.last_error for r in rows) and len(rows) == 2
    end_outage()
    assert relay_outbox(grace_seconds=0) == 2


def test_relay_handoff_leaves_jobs_to_the_worker_relay_which_pushes_each_once(app, monkeypatch):
    import threading
    import time

    from rq import Queue, SimpleWorker

    from nibog.core.outbox import run_relay
    from nibog.extensions import get_redis

    monkeypatch.setitem(app.config, "JOBS_SYNC", False)
    monkeypatch.setitem(app.config, "JOBS_HANDOFF", "relay")
    RUNS.clear()
    queue = Queue("default", connection=get_redis())
    enqueue("tests.jobs.test_outbox.record_run", 1)
    enqueue("tests.jobs.test_outbox.record_run", 2)
    boundary.commit()
    # The request did no push: both rows wait, nothing is queued yet.
    assert queue.count == 0
    assert db.session.scalar(select(func.count()).where(OutboxJob.relayed_at.is_(None))) == 2

    stop = threading.Event()
    relay = threading.Thread(target=run_relay, args=(app, stop, 0.05), daemon=True)
    relay.start()
    try:
        deadline = time.monotonic() + 10
        while queue.count < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        relay.join(5)
    assert not relay.is_alive(), "the relay did not stop"
    assert queue.count == 2
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(OutboxJob.relayed_at.is_(None))) == 0
    assert relay_outbox(grace_seconds=0) == 0  # relayed rows are not pushed again

    SimpleWorker([queue], connection=get_redis()).work(burst=True)
    assert sorted(RUNS) == [(1,), (2,)]


def test_relay_pushes_one_refresh_job_per_event_however_many_holds_queued_it(app, monkeypatch):
    from rq import Queue

    from nibog.extensions import get_redis

    monkeypatch.setitem(app.config, "JOBS_SYNC", False)
    monkeypatch.setitem(app.config, "JOBS_HANDOFF", "relay")
    monkeypatch.setitem(app.config, "COALESCED_JOBS", ("tests.jobs.test_outbox.record_run",))
    queue = Queue("default", connection=get_redis())
    for event_id in (7, 7, 8, 7, 8):  # five commits, as five holds in a burst would
        enqueue("tests.jobs.test_outbox.record_run", event_id)
        enqueue("tests.jobs.test_outbox.boom", event_id)  # not coalesced: every one goes
        boundary.commit()
    assert relay_outbox(grace_seconds=0) == 10  # every row is handed over ...
    # Each RQ job runs nibog.core.jobs.run_job(function path, *arguments).
    pushed = [(job.args[0], job.args[1:]) for job in queue.get_jobs()]
    # ... but the refresh runs once per event, after all five commits.
    assert sorted(a for f, a in pushed if f.endswith("record_run")) == [(7,), (8,)]
    assert len([f for f, _ in pushed if f.endswith("boom")]) == 5
    assert db.session.scalar(select(func.count()).where(OutboxJob.relayed_at.is_(None))) == 0


def test_a_relayed_job_keeps_its_own_retry_count(app, monkeypatch, redis_outage):
    """A refund job asks for five retries; when the relay (not the after-commit push) hands it
    over, it still has five - not the default three."""
    from rq.job import Job

    from nibog.extensions import get_redis

    start_outage, end_outage = redis_outage
    monkeypatch.setitem(app.config, "JOBS_SYNC", False)
    start_outage()
    enqueue("tests.jobs.test_outbox.record_run", 1, queue="payments", retries=5)
    boundary.commit()
    end_outage()
    assert relay_outbox(grace_seconds=0) == 1
    row = db.session.scalar(select(OutboxJob))
    assert row.retries == 5
    assert Job.fetch(f"outbox-{row.id}", connection=get_redis()).retries_left == 5
