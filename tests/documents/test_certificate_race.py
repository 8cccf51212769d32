"""Certificate generation for one event started twice at once (a retried job, a second
"complete event"): each family is e-mailed once, on parallel PostgreSQL connections."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from nibog.core import boundary, locking
from nibog.documents import tasks
from nibog.notifications.models import NotificationLog
from tests.concurrency.race import codes, interleave, race
from tests.documents.helpers import make_booking
from tests.documents.test_certificates import YESTERDAY

# Commit mode (docs/testing.md, "Isolation"): races between threads, each on its own connection.
pytestmark = pytest.mark.commits

MEET_SECONDS = 2


def _meet_before_generating(monkeypatch, parties):
    """Both runs read a booking's certificates as missing before either stores one - if they
    can meet: with the runs exclusive, the second is not there, and the first goes on."""
    barrier = threading.Barrier(parties, timeout=MEET_SECONDS)
    real = tasks.certificate_for

    def meet_then_generate(*args, **kwargs):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks, "certificate_for", meet_then_generate)


def _emails(db):
    return db.session.scalar(select(func.count()).select_from(NotificationLog).where(
        NotificationLog.template == "certificate_ready"))


def test_two_runs_at_once_email_each_family_once(app, db, monkeypatch):
    first, info = make_booking(child_names=("Aarav",), event_date=YESTERDAY())
    make_booking(event=info["event"], child_names=("Kabir",))
    info["event"].status = "completed"
    event_id = info["event"].id
    boundary.commit()
    _meet_before_generating(monkeypatch, 2)

    results = race(app, 2, lambda i: tasks.generate_event_certificates(event_id))
    assert codes(results) == ["ok", "ok"], results
    # Two certificates made once between the two runs, and one e-mail per family.
    assert sorted(value for _, value in results) == [0, 2]
    db.session.expire_all()
    assert _emails(db) == 2


def _a_run_during_another(app, db):
    """The second run starts while the first has read its first booking's certificates as
    missing and not yet made them."""
    first, info = make_booking(child_names=("Aarav",), event_date=YESTERDAY())
    make_booking(event=info["event"], child_names=("Kabir",))
    info["event"].status = "completed"
    event_id = info["event"].id
    boundary.commit()
    results = interleave(app, lambda _: tasks.generate_event_certificates(event_id),
                         lambda _: tasks.generate_event_certificates(event_id),
                         "certificates_read")
    db.session.expire_all()
    return results, _emails(db)


def test_a_run_started_during_another_waits_and_makes_nothing_twice(app, db):
    results, emails = _a_run_during_another(app, db)
    assert results == [("ok", 2), ("ok", 0)]
    assert emails == 2


def test_control_without_the_run_lock_a_certificate_is_made_and_sent_twice(app, db, monkeypatch):
    monkeypatch.setattr(locking.guards, "certificate_run_lock", False)
    results, emails = _a_run_during_another(app, db)
    # The second run made both certificates; the first, working from the booking it read
    # before, made Aarav's again and e-mailed his family a second time.
    assert results == [("ok", 1), ("ok", 2)]
    assert emails == 3
