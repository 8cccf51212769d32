"""Report exports (bookings, payments, participants per slot, attendance) as CSV or Excel.

``request_report`` records a ``ReportExport`` and queues ``generate_report`` on the ``reports``
queue; the job streams rows into the file, publishing its progress as it goes, and stores the
result through the storage interface. Money columns are integer paise (plus a rupee string for
people reading the sheet).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select, update

from nibog.accounts.models import Child, User
from nibog.admin.models import ReportExport
from nibog.booking.models import Booking, BookingItem
from nibog.catalog.models import Event, EventGame, GameSlot, GameTemplate
from nibog.core import boundary
from nibog.core.errors import AppError, NotFound
from nibog.core.jobs import job
from nibog.core.timeutil import IST, age_in_months, isoformat_ist, utcnow
from nibog.documents import downloads
from nibog.documents.downloads import Download
from nibog.documents.storage import get_storage
from nibog.extensions import db
from nibog.payments.models import Payment

log = logging.getLogger(__name__)

KINDS = ("bookings", "payments", "participants", "attendance")
FORMATS = ("csv", "xlsx")
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BATCH = 500


def _rupees(paise: int | None) -> str:
    paise = paise or 0
    return f"{paise // 100}.{paise % 100:02d}"


def request_report(kind: str, file_format: str, filters: dict, requested_by_id: int | None) -> ReportExport:
    if kind not in KINDS:
        raise AppError("validation_error", "Unknown report kind", 422, {"kind": [f"One of {KINDS}"]})
    if file_format not in FORMATS:
        raise AppError("validation_error", "Unknown format", 422, {"format": [f"One of {FORMATS}"]})
    report = ReportExport(
        kind=kind, file_format=file_format, params=filters or {}, requested_by_id=requested_by_id
    )
    db.session.add(report)
    db.session.flush()
    generate_report.delay(report.id)
    return report


def get_report(report_id: int) -> ReportExport:
    report = db.session.get(ReportExport, report_id)
    if report is None:
        raise NotFound("Report")
    return report


def report_download(report_id: int) -> Download:
    """A redirect to the stored file (S3), or its bytes (local storage)."""
    report = get_report(report_id)
    if report.status != "done" or not report.file_path:
        raise AppError("report_not_ready", f"The report is {report.status}, not ready yet", 409)
    filename = f"nibog-{report.kind}-{report.id}.{report.file_format}"
    return downloads.stored(
        report.file_path, filename=filename, content_type=MIME[report.file_format], inline=False
    )


# --- queries ------------------------------------------------------------------------------------


def _date_range(stmt: Select, column, filters: dict, *, is_datetime: bool) -> Select:
    start, end = filters.get("date_from"), filters.get("date_to")
    if is_datetime:
        # Dates are days in India: convert their bounds to UTC instants.
        if start:
            stmt = stmt.where(column >= datetime.combine(date.fromisoformat(start), time(), IST))
        if end:
            upper = datetime.combine(date.fromisoformat(end) + timedelta(days=1), time(), IST)
            stmt = stmt.where(column < upper)
        return stmt
    if start:
        stmt = stmt.where(column >= date.fromisoformat(start))
    if end:
        stmt = stmt.where(column <= date.fromisoformat(end))
    return stmt


def _bookings(filters: dict) -> tuple[list[str], Select, Any]:
    items = (
        select(BookingItem.booking_id, func.count(func.distinct(BookingItem.child_id)).label("children"),
               func.count().label("games"))
        .group_by(BookingItem.booking_id)
        .subquery()
    )
    stmt = (
        select(Booking, Event.title, Event.event_date, User.full_name, User.email, User.phone,
               items.c.children, items.c.games)
        .join(Event, Event.id == Booking.event_id)
        .outerjoin(User, User.id == Booking.user_id)
        .outerjoin(items, items.c.booking_id == Booking.id)
        .order_by(Booking.id)
    )
    if filters.get("event_id"):
        stmt = stmt.where(Booking.event_id == int(filters["event_id"]))
    if filters.get("status"):
        stmt = stmt.where(Booking.status == filters["status"])
    stmt = _date_range(stmt, Booking.created_at, filters, is_datetime=True)
    header = ["booking_number", "status", "source", "created_at", "event_id", "event", "event_date",
              "parent_name", "email", "phone", "children", "games", "subtotal_paise",
              "discount_paise", "total_paise", "total_inr", "payment_mode"]

    def row(r):
        b, title, event_date, name, email, phone, children, games = r
        return [b.booking_number, b.status, b.source, isoformat_ist(b.created_at), b.event_id, title,
                event_date.isoformat(), name or b.guest_name or "", email or b.guest_email or "",
                phone or b.guest_phone or "", children or 0, games or 0, b.subtotal, b.discount,
                b.total, _rupees(b.total), b.payment_mode]

    return header, stmt, row


def _payments(filters: dict) -> tuple[list[str], Select, Any]:
    stmt = (
        select(Payment, Booking.booking_number, Booking.event_id)
        .join(Booking, Booking.id == Payment.booking_id)
        .order_by(Payment.id)
    )
    if filters.get("event_id"):
        stmt = stmt.where(Booking.event_id == int(filters["event_id"]))
    if filters.get("status"):
        stmt = stmt.where(Payment.status == filters["status"])
    stmt = _date_range(stmt, Payment.created_at, filters, is_datetime=True)
    header = ["payment_id", "booking_number", "event_id", "provider", "provider_order_id",
              "provider_payment_id", "status", "method", "amount_paise", "refunded_paise",
              "amount_inr", "currency", "created_at", "captured_at"]

    def row(r):
        p, number, event_id = r
        return [p.id, number, event_id, p.provider, p.provider_order_id, p.provider_payment_id or "",
                p.status, p.method or "", p.amount, p.amount_refunded, _rupees(p.amount), p.currency,
                isoformat_ist(p.created_at), isoformat_ist(p.captured_at) or ""]

    return header, stmt, row


def _seat_rows(filters: dict, *, attendance: bool) -> tuple[list[str], Select, Any]:
    stmt = (
        select(BookingItem, Booking.booking_number, Booking.status, Event.title, Event.event_date,
               GameTemplate.name, GameSlot.start_time, GameSlot.end_time, Child.full_name,
               Child.date_of_birth, User.full_name, User.phone, User.email, Booking.guest_name,
               Booking.guest_phone, Booking.guest_email)
        .join(Booking, Booking.id == BookingItem.booking_id)
        .join(Event, Event.id == Booking.event_id)
        .join(GameSlot, GameSlot.id == BookingItem.slot_id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .join(Child, Child.id == BookingItem.child_id)
        .outerjoin(User, User.id == Booking.user_id)
        .where(and_(BookingItem.is_live, Booking.status.in_(("confirmed", "completed"))))
        .order_by(Event.event_date, Event.id, GameSlot.start_time, GameSlot.id, Child.full_name,
                  BookingItem.id)
    )
    if filters.get("event_id"):
        stmt = stmt.where(Booking.event_id == int(filters["event_id"]))
    if filters.get("slot_id"):
        stmt = stmt.where(BookingItem.slot_id == int(filters["slot_id"]))
    stmt = _date_range(stmt, Event.event_date, filters, is_datetime=False)
    header = ["event", "event_date", "game", "slot_start", "slot_end", "child_name",
              "age_months", "parent_name", "parent_phone", "parent_email", "booking_number"]
    if attendance:
        header += ["attendance", "checked_in_at", "result_position"]
    else:
        header += ["date_of_birth", "booking_status"]

    def row(r):
        (item, number, status, title, event_date, game, start, end, child, dob, parent, phone,
         email, g_name, g_phone, g_email) = r
        out = [title, event_date.isoformat(), game, start.strftime("%H:%M"), end.strftime("%H:%M"),
               child, age_in_months(dob, event_date), parent or g_name or "", phone or g_phone or "",
               email or g_email or "", number]
        if attendance:
            out += [item.attendance, isoformat_ist(item.checked_in_at) or "",
                    item.result_position or ""]
        else:
            out += [dob.isoformat(), status]
        return out

    return header, stmt, row


def build_query(kind: str, filters: dict):
    if kind == "bookings":
        return _bookings(filters)
    if kind == "payments":
        return _payments(filters)
    return _seat_rows(filters, attendance=kind == "attendance")


# --- the job ------------------------------------------------------------------------------------


def _set(report_id: int, **values) -> None:
    """Progress goes out on its own connection so the admin sees it while the job runs."""
    with db.engine.begin() as conn:
        conn.execute(update(ReportExport).where(ReportExport.id == report_id).values(**values))


def _rows(stmt: Select, row) -> Iterator[list]:
    offset = 0
    while True:
        batch = db.session.execute(stmt.limit(BATCH).offset(offset)).all()
        for r in batch:
            yield row(r)
        if len(batch) < BATCH:
            return
        offset += BATCH


@job("reports", retries=1)
def generate_report(report_id: int) -> None:
    report = db.session.get(ReportExport, report_id)
    if report is None or report.status == "done":
        boundary.rollback()
        return
    kind, fmt, filters = report.kind, report.file_format, dict(report.params or {})
    boundary.rollback()
    _set(report_id, status="running", progress=0, error=None)
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            # The count and every batch from one snapshot: bookings changing while the file
            # is written must not shift the pages (rows skipped or written twice).
            db.session.connection(
                execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            )
        header, stmt, row = build_query(kind, filters)
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
        data = _write(fmt, header, _progress(report_id, _rows(stmt, row), total))
        key = f"reports/{report_id}.{fmt}"
        get_storage().put(key, data, MIME[fmt])
    except Exception as exc:
        boundary.rollback()
        _set(report_id, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000],
             finished_at=utcnow())
        raise
    boundary.rollback()
    _set(report_id, status="done", progress=100, file_path=key, finished_at=utcnow())


def _progress(report_id: int, rows: Iterator[list], total: int) -> Iterator[list]:
    done = 0
    for r in rows:
        yield r
        done += 1
        if total and done % BATCH == 0:
            _set(report_id, progress=min(99, done * 100 // total))


# The control characters an XLSX cell cannot hold (openpyxl's own rule; not imported from it,
# so the web processes do not load openpyxl until an export runs).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
# A cell a spreadsheet would run as a formula: "=", "@", a tab or CR first, or "+"/"-" followed
# by more than a number (a phone number such as +91 98123 45678 stays as it is).
_FORMULA = re.compile(r"^(?:[=@\t\r]|[+-](?![\d\s().-]*$))")


def _cell(value):
    """What a parent typed goes into the admin's spreadsheet as text, never as a formula (a
    name like =HYPERLINK(...) would otherwise run there), and without the control characters
    an XLSX file cannot hold (one such name would fail every export it appears in)."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if _FORMULA.match(value) else value


def _write(fmt: str, header: list[str], rows: Iterator[list]) -> bytes:
    rows = ([_cell(v) for v in r] for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        for r in rows:
            writer.writerow(r)
        # BOM: Excel then opens the UTF-8 file (Indian names, ₹) correctly.
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("report")
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def serialize(report: ReportExport) -> dict[str, Any]:
    return {
        "id": report.id,
        "kind": report.kind,
        "format": report.file_format,
        "filters": report.params or {},
        "status": report.status,
        "progress": report.progress,
        "error": report.error,
        "created_at": isoformat_ist(report.created_at),
        "finished_at": isoformat_ist(report.finished_at),
        "download_url": f"/api/admin/reports/{report.id}/download" if report.status == "done" else None,
    }
