"""Report exports from the dashboard: a job writes the file, the page shows its progress and
the download; revenue and promo-usage reports add up; the audit log viewer filters."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import select

from nibog.admin.models import ReportExport
from nibog.booking.models import Booking
from nibog.core.audit import AuditLog
from nibog.core.timeutil import today_ist, utcnow
from nibog.extensions import db
from nibog.payments.models import Refund
from tests.booking.world import make_promo, make_world
from tests.factories import make_booking, pay
from tests.helpers import html

# Commit mode (docs/testing.md, "Isolation"): report jobs read on a connection of their own (admin/reports.py).
pytestmark = pytest.mark.commits


@pytest.fixture(autouse=True)
def _files_in_tmp(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_LOCAL_PATH", str(tmp_path / "files"))


def export(client, **form) -> tuple[int, object]:
    resp = client.post("/admin/reports/new", data={"file_format": "csv", **form})
    assert resp.status_code == 302, html(resp)
    report_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    return report_id, resp


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_export_job_produces_the_file(staff_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    report_id, _ = export(staff_client, kind="bookings")
    # JOBS_SYNC ran the job after the request's commit: done, with the file.
    page = html(staff_client.get(f"/admin/reports/{report_id}"))
    assert f"/admin/reports/{report_id}/download" in page and 'value="100"' in page
    state = staff_client.get(f"/admin/reports/{report_id}/status").get_json()
    assert state["status"] == "done" and state["progress"] == 100
    assert state["download_url"].endswith(f"/admin/reports/{report_id}/download")
    resp = staff_client.get(state["download_url"])
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    [row] = csv_rows(resp.data)
    assert row["booking_number"] == booking.booking_number
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "report.request"))


def test_a_running_export_refreshes_itself_without_javascript(admin_client):
    report = ReportExport(kind="bookings", file_format="csv", status="running", progress=40)
    db.session.add(report)
    db.session.commit()
    body = html(admin_client.get(f"/admin/reports/{report.id}"))
    assert '<noscript><meta http-equiv="refresh"' in body and 'value="40"' in body
    assert "admin-reports.js" in body
    assert admin_client.get(f"/admin/reports/{report.id}/download").status_code == 409


def test_excel_export(admin_client):
    world = make_world()
    make_booking(world.parent, [(world.children[0], world.slots[0])])
    report_id, _ = export(admin_client, kind="participants", file_format="xlsx",
                          event_id=str(world.event.id))
    data = admin_client.get(f"/admin/reports/{report_id}/download").data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "event" and rows[1][5] == world.children[0].full_name


def test_revenue_report_adds_captured_minus_refunds_plus_cash(admin_client):
    world = make_world(capacity=10, n_children=3)
    online = make_booking(world.parent, [(world.children[0], world.slots[0])], price=50000)
    pay(online)
    partly = make_booking(world.parent, [(world.children[1], world.slots[0])], price=30000)
    payment = pay(partly)
    db.session.add(Refund(payment_id=payment.id, amount=10000, status="processed"))
    db.session.add(Refund(payment_id=payment.id, amount=5000, status="failed"))  # gave nothing
    make_booking(world.parent, [(world.children[2], world.slots[1])], price=20000,
                 payment_mode="cash")
    db.session.commit()
    report_id, _ = export(admin_client, kind="revenue")
    [row] = csv_rows(admin_client.get(f"/admin/reports/{report_id}/download").data)
    assert row["day"] == today_ist().isoformat()
    assert (row["captured_paise"], row["refunded_paise"], row["cash_paise"]) == (
        "80000", "10000", "20000")
    assert row["net_paise"] == "90000" and row["net_inr"] == "900.00"
    # The same figure as the dashboard's revenue.
    from nibog.booking.admin.stats import dashboard_stats

    assert dashboard_stats()["revenue_total"] == 90000


def test_revenue_report_filters_by_day(admin_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])], price=50000)
    pay(booking, captured_at=utcnow() - timedelta(days=3))
    since = (today_ist() - timedelta(days=1)).isoformat()
    report_id, _ = export(admin_client, kind="revenue", date_from=since)
    assert csv_rows(admin_client.get(f"/admin/reports/{report_id}/download").data) == []


def test_promo_usage_report(admin_client):
    world = make_world(n_children=3)
    promo = make_promo("DIWALI", kind="fixed", value=5000)
    make_promo("UNUSED")
    for child in world.children[:2]:
        make_booking(world.parent, [(child, world.slots[0])], price=50000,
                     promo_code_id=promo.id, discount=0)
    for b in db.session.scalars(select(Booking)):
        b.discount, b.total = 5000, b.subtotal - 5000
    make_booking(world.parent, [(world.children[2], world.slots[1])], status="cancelled",
                 promo_code_id=promo.id)
    db.session.commit()
    report_id, _ = export(admin_client, kind="promo_usage")
    rows = {r["code"]: r for r in csv_rows(admin_client.get(f"/admin/reports/{report_id}/download").data)}
    assert set(rows) == {"DIWALI", "UNUSED"}
    assert rows["DIWALI"]["bookings_sold"] == "2" and rows["DIWALI"]["discount_paise"] == "10000"
    assert rows["UNUSED"]["bookings_sold"] == "0"


def test_report_form_errors(admin_client):
    resp = admin_client.post("/admin/reports/new", data={
        "kind": "bookings", "file_format": "csv", "date_from": "2026-12-10",
        "date_to": "2026-12-01"})
    assert resp.status_code == 422
    assert "The end is before the start." in html(resp)
    resp = admin_client.post("/admin/reports/new", data={"kind": "secrets", "file_format": "csv"})
    assert resp.status_code == 422
    assert db.session.scalar(select(ReportExport.id)) is None


def test_audit_log_viewer_filters_by_action_and_record(admin_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    admin_client.post(f"/admin/bookings/{booking.id}/resend-ticket", data={"channels": ["email"]})
    admin_client.post("/admin/faqs/new", data={"question": "Q?", "answer": "A", "category": "g"})
    body = html(admin_client.get("/admin/audit-log?action=booking."))
    assert "booking.resend_ticket" in body and "faq.create" not in body
    body = html(admin_client.get(f"/admin/audit-log?entity_type=bookings&entity_id={booking.id}"))
    assert "booking.resend_ticket" in body
    body = html(admin_client.get("/admin/audit-log?actor=admin@nibog"))
    assert "faq.create" in body
    body = html(admin_client.get("/admin/audit-log?actor=nobody-here"))
    assert "No entry matches these filters." in body
