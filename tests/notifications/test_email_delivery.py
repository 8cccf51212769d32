"""Email through a real local SMTP server (aiosmtpd): what arrives, attachments, idempotent
re-runs, retries with backoff on a failing server (a real RQ worker), permanent failures."""

from __future__ import annotations

import io

import pypdf
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from nibog.core import boundary
from nibog.extensions import db, get_redis
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import queue_email
from nibog.notifications.tasks import deliver
from tests.documents.helpers import make_booking
from tests.factories import UserFactory


def _log(entry_id) -> NotificationLog:
    db.session.expire_all()
    return db.session.get(NotificationLog, entry_id)


def test_booking_confirmed_arrives_with_the_ticket_attached(app, smtp_server):
    booking, info = make_booking(title="Chennai Summer Games", addon=("Meal Pack", 1, 29900))
    entry = queue_email("booking_confirmed", info["user"].email, {"booking_id": booking.id},
                        user_id=info["user"].id, booking_id=booking.id)
    boundary.commit()

    [mail] = smtp_server.messages
    assert mail["To"] == info["user"].email
    assert booking.booking_number in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Chennai Summer Games" in text and "Aarav" in text and "1 x Meal Pack" in text
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert booking.booking_number in html
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"ticket-{booking.booking_number}.pdf"
    pdf_text = pypdf.PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    assert booking.booking_number in pdf_text

    logged = _log(entry.id)
    assert logged.status == "sent" and logged.attempts == 1
    assert logged.provider_message_id == mail["Message-ID"]


def test_password_reset_and_held_booking_carry_their_links(app, smtp_server):
    user = UserFactory()
    queue_email("password_reset", user.email,
                {"full_name": "Asha", "reset_url": "http://127.0.0.1:5000/reset-password?token=abc.def"},
                user_id=user.id)
    booking, info = make_booking(status="pending_payment")
    booking.hold_expires_at = booking.created_at
    queue_email("booking_held", info["user"].email, {"booking_id": booking.id},
                user_id=info["user"].id, booking_id=booking.id)
    boundary.commit()

    reset, held = smtp_server.messages
    assert "token=abc.def" in reset.get_body(preferencelist=("plain",)).get_content()
    held_text = held.get_body(preferencelist=("plain",)).get_content()
    assert f"/book/{booking.id}/pay" in held_text
    assert "IST" in held_text  # the payment deadline, in Indian time


def test_delivering_twice_sends_once(app, smtp_server):
    user = UserFactory()
    entry = queue_email("welcome", user.email, {"full_name": "Asha"}, user_id=user.id)
    boundary.commit()
    deliver(entry.id, {"full_name": "Asha"})  # a duplicate run (relay after a crash, say)
    deliver(entry.id, {"full_name": "Asha"})
    assert len(smtp_server.messages) == 1
    assert _log(entry.id).attempts == 1


def _run_worker_with_retries(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_SYNC", False)
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", [0, 0, 0])


def _work(queue_name="notifications"):
    conn = get_redis()
    SimpleWorker([Queue(queue_name, connection=conn)], connection=conn).work(burst=True)


def test_failing_smtp_server_is_retried_until_it_accepts(app, smtp_server, monkeypatch):
    _run_worker_with_retries(app, monkeypatch)
    smtp_server.fail_next = 2
    user = UserFactory()
    entry = queue_email("welcome", user.email, {"full_name": "Asha"}, user_id=user.id)
    boundary.commit()
    assert smtp_server.messages == []  # queued in Redis, not sent yet

    _work()
    assert len(smtp_server.messages) == 1
    logged = _log(entry.id)
    assert logged.status == "sent" and logged.attempts == 3


def test_smtp_server_that_never_recovers_ends_failed_and_visible(client, app, smtp_server, monkeypatch):
    _run_worker_with_retries(app, monkeypatch)
    smtp_server.fail_next = 100
    user = UserFactory()
    entry = queue_email("welcome", user.email, {}, user_id=user.id)
    boundary.commit()
    _work()
    logged = _log(entry.id)
    assert logged.status == "failed" and logged.attempts == 4  # first try + 3 retries
    assert "451" in logged.error

    from tests.helpers import auth_headers

    admin = UserFactory(role="admin")
    items = client.get("/api/admin/jobs/failed", headers=auth_headers(admin)).get_json()["items"]
    assert {"rq", "notification"} <= {i["source"] for i in items}


def test_permanent_smtp_refusal_is_not_retried(app, smtp_server, monkeypatch):
    _run_worker_with_retries(app, monkeypatch)
    smtp_server.fail_next = 100
    smtp_server.fail_reply = "554 5.7.1 Message rejected"
    user = UserFactory()
    entry = queue_email("welcome", user.email, {}, user_id=user.id)
    boundary.commit()
    _work()
    logged = _log(entry.id)
    assert logged.status == "failed" and logged.attempts == 1
    assert db.session.scalar(select(func.count()).select_from(NotificationLog)) == 1


def test_a_failed_message_requeued_by_an_admin_is_sent(client, app, smtp_server, monkeypatch):
    """The server recovered: requeueing the failed delivery (or the failed message) sends it,
    and the failed-jobs list never shows the one-time link it carries."""
    from tests.helpers import auth_headers

    _run_worker_with_retries(app, monkeypatch)
    smtp_server.fail_next = 100
    user = UserFactory()
    link = "http://127.0.0.1:5000/reset-password?token=secret.token"
    entry = queue_email("password_reset", user.email, {"full_name": "Asha", "reset_url": link},
                        user_id=user.id)
    boundary.commit()
    _work()
    assert _log(entry.id).status == "failed"
    admin = auth_headers(UserFactory(role="admin"))
    listing = client.get("/api/admin/jobs/failed", headers=admin)
    assert "secret.token" not in listing.get_data(as_text=True)
    [job] = [i for i in listing.get_json()["items"] if i["source"] == "rq"]

    smtp_server.fail_next = 0
    resp = client.post(f"/api/admin/jobs/failed/{job['id']}/requeue", headers=admin)
    assert resp.status_code == 202
    _work()
    assert _log(entry.id).status == "sent"
    [mail] = smtp_server.messages
    assert "token=secret.token" in mail.get_body(preferencelist=("plain",)).get_content()


def test_a_failed_message_can_be_resent_by_its_own_id(client, app, smtp_server, monkeypatch):
    from tests.helpers import auth_headers

    _run_worker_with_retries(app, monkeypatch)
    smtp_server.fail_next = 1
    smtp_server.fail_reply = "554 5.7.1 Message rejected"  # permanent: no RQ retry, no RQ entry
    user = UserFactory()
    entry = queue_email("welcome", user.email, {"full_name": "Asha"}, user_id=user.id)
    boundary.commit()
    _work()
    assert _log(entry.id).status == "failed"
    admin = auth_headers(UserFactory(role="admin"))
    resp = client.post(f"/api/admin/jobs/failed/notification-{entry.id}/requeue", headers=admin)
    assert resp.status_code == 202, resp.get_json()
    _work()
    assert _log(entry.id).status == "sent" and len(smtp_server.messages) == 1
    again = client.post(f"/api/admin/jobs/failed/notification-{entry.id}/requeue", headers=admin)
    assert again.status_code == 404  # nothing failed any more


def test_a_sent_reset_link_is_not_kept_in_the_outbox(app, smtp_server):
    """The outbox keeps a week of jobs; once the reset e-mail is out, its row no longer holds
    the link (which would open the account)."""
    from nibog.core.models import OutboxJob

    user = UserFactory()
    link = "http://127.0.0.1:5000/reset-password?token=secret.token"
    entry = queue_email("password_reset", user.email, {"full_name": "Asha", "reset_url": link},
                        user_id=user.id)
    boundary.commit()
    assert "token=secret.token" in smtp_server.messages[0].get_body(
        preferencelist=("plain",)).get_content()
    db.session.expire_all()
    [row] = db.session.scalars(select(OutboxJob).where(
        OutboxJob.func == "nibog.notifications.tasks.deliver")).all()
    assert row.args == [entry.id, {"full_name": "Asha", "reset_url": "[sent]"}]


def test_a_file_store_hiccup_while_composing_is_retried(app, smtp_server, monkeypatch):
    """The ticket PDF could not be read for a moment: the delivery is retried, not marked
    failed for good."""
    from nibog.documents.storage import StorageError
    from nibog.notifications import templates

    _run_worker_with_retries(app, monkeypatch)
    real = templates.attachments_for
    failures = [StorageError("storage unreachable")]

    def flaky(template, ctx):
        if failures:
            raise failures.pop()
        return real(template, ctx)

    monkeypatch.setattr(templates, "attachments_for", flaky)
    user = UserFactory()
    entry = queue_email("welcome", user.email, {"full_name": "Asha"}, user_id=user.id)
    boundary.commit()
    _work()
    logged = _log(entry.id)
    assert logged.status == "sent" and len(smtp_server.messages) == 1
