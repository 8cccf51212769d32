"""A real RQ worker process SIGKILLed in the middle of a job; a new worker finishes it, once.

The job is a real one: the e-mail job (``notifications.tasks.deliver``) sending through SMTP to
a real SMTP server (aiosmtpd) in this process, which holds the first message's DATA until the
test has killed the worker - the worker dies mid-send, holding the message's row lock, with the
message not accepted. A second worker process is then started: on start it finds the job in the
started registry with its worker's process gone, hands it to RQ's abandoned-job handling (a
retry: ``nibog.core.abandoned_jobs``), and delivers it. The parent gets exactly one e-mail; a
further run of the same job (a duplicate push) sends nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import pytest
from aiosmtpd.controller import Controller
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from nibog.core import boundary
from nibog.core.jobs import run_job
from nibog.core.models import OutboxJob
from nibog.extensions import db, get_redis
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import queue_email
from nibog.notifications.tasks import DELIVER
from tests.factories import UserFactory
from tests.ops.processes import child_env, free_port, spawn, wait_until

# Commit mode (docs/testing.md, "Isolation"): a worker process on its own connection.
pytestmark = pytest.mark.commits


class HoldFirstMessage:
    """SMTP handler: the first DATA waits until released, then is refused (its client is dead
    by then); every later one is accepted and kept."""

    def __init__(self):
        self.receiving = threading.Event()
        self.release = threading.Event()
        self.accepted: list[bytes] = []
        self.held = 0

    async def handle_DATA(self, server, session, envelope):
        if self.held == 0:
            self.held = 1
            self.receiving.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 the client went away"
        self.accepted.append(envelope.content)
        return "250 Message accepted"


def _entry(log_id: int) -> NotificationLog:
    db.session.expire_all()
    return db.session.get(NotificationLog, log_id)


def test_a_job_killed_mid_send_is_redone_by_the_next_worker_and_sent_once(
    app, tmp_path, processes, monkeypatch
):
    handler = HoldFirstMessage()
    smtp_port = free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        # As in production: the request's commit leaves the job in the outbox for the relay.
        monkeypatch.setitem(app.config, "JOBS_SYNC", False)
        monkeypatch.setitem(app.config, "JOBS_HANDOFF", "relay")
        user = UserFactory()
        entry = queue_email("welcome", user.email, {"full_name": "Asha"}, user_id=user.id)
        boundary.commit()
        log_id = entry.id
        outbox_id = db.session.scalar(select(OutboxJob.id))

        env = child_env(app, JOBS_HANDOFF="relay", MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                        MAIL_PORT=smtp_port, MAIL_USE_TLS="0", MAIL_USERNAME="",
                        JOB_RETRY_INTERVALS="1,1,1", OUTBOX_RELAY_SECONDS="0.2")
        first = spawn(["worker.py", "notifications"], env, tmp_path / "worker1.log")
        processes.append(first)
        # The worker relays the row, takes the job and is now in the SMTP conversation.
        wait_until(handler.receiving.is_set, "the first worker to start sending", procs=[first])
        job = Job.fetch(f"outbox-{outbox_id}", connection=get_redis())
        assert job.get_status() == "started"
        retries_before = job.retries_left

        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        handler.release.set()
        # Killed mid-job: the job is still "started" in RQ, the message still queued (its
        # transaction died with the process), nothing accepted.
        registry = StartedJobRegistry("notifications", connection=get_redis())
        assert job.id in registry.get_job_ids(cleanup=False)
        assert _entry(log_id).status == "queued"
        assert handler.accepted == []

        second = spawn(["worker.py", "notifications"], env, tmp_path / "worker2.log")
        processes.append(second)
        wait_until(lambda: _entry(log_id).status == "sent", "the second worker to deliver",
                   procs=[second])
        assert len(handler.accepted) == 1
        assert user.email.encode() in handler.accepted[0]
        job.refresh()
        assert job.get_status() == "finished"
        assert job.retries_left == retries_before - 1  # it came back as a retry
        assert job.id not in registry.get_job_ids(cleanup=False)

        # The same job delivered again (a relay that pushed twice): nothing more is sent.
        again = Queue("notifications", connection=get_redis()).enqueue_call(
            func=run_job, args=(DELIVER, log_id, {"full_name": "Asha"}))
        wait_until(lambda: again.get_status(refresh=True) == "finished", "the duplicate run",
                   procs=[second])
        assert len(handler.accepted) == 1
        assert _entry(log_id).status == "sent"
    finally:
        handler.release.set()
        smtp.stop()
