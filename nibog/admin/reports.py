"""Report exports (bookings, payments, revenue, promo usage, participants per slot,
attendance) as CSV or Excel.

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
from typing import Any

from sqlalchemy import Select, func, select, update

from nibog.admin.models import ExportStatus, ReportExport
from nibog.admin.report_queries import KINDS, build_query
from nibog.core import boundary
from nibog.core.errors import AppError, NotFound
from nibog.core.jobs import job
from nibog.core.timeutil import isoformat_ist, utcnow
from nibog.documents import downloads
from nibog.documents.downloads import Download
from nibog.documents.storage import get_storage
from nibog.extensions import db

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BATCH = 500


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
    if report.status != ExportStatus.DONE or not report.file_path:
        raise AppError("report_not_ready", f"The report is {report.status}, not ready yet", 409)
    filename = f"nibog-{report.kind}-{report.id}.{report.file_format}"
    return downloads.stored(
        report.file_path, filename=filename, content_type=MIME[report.file_format], inline=False
    )


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
    if report is None or report.status == ExportStatus.DONE:
        boundary.rollback()
        return
    kind, fmt, filters = report.kind, report.file_format, dict(report.params or {})
    boundary.rollback()
    _set(report_id, status=ExportStatus.RUNNING, progress=0, error=None)
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
        _set(report_id, status=ExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
             finished_at=utcnow())
        raise
    boundary.rollback()
    _set(report_id, status=ExportStatus.DONE, progress=100, file_path=key, finished_at=utcnow())


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
        "download_url": f"/api/admin/reports/{report.id}/download" if report.status == ExportStatus.DONE else None,
    }
