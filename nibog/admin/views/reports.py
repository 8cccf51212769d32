"""Reports: bookings, payments, revenue, promo usage, participants and attendance as CSV or
Excel. Each export is a job (nibog.admin.reports); its page shows a progress bar that a small
script refreshes (without JavaScript the page reloads itself) and the file once it is done."""

from __future__ import annotations

from datetime import date

from flask import flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import InputRequired, Optional

from nibog.admin import reports
from nibog.admin.models import ExportStatus, ReportExport
from nibog.admin.views import bp
from nibog.admin.views.access import OPERATE, READ, actor, allow
from nibog.admin.views.formkit import apply_error, choices
from nibog.admin.views.listing import list_args, page_of
from nibog.admin.views.sales import event_choices
from nibog.core.audit import record
from nibog.core.errors import AppError
from nibog.documents import downloads
from nibog.extensions import db

KIND_LABELS = {
    "bookings": _l("Bookings"),
    "payments": _l("Payments"),
    "revenue": _l("Revenue per day and event"),
    "promo_usage": _l("Promo code usage"),
    "participants": _l("Participants per slot"),
    "attendance": _l("Attendance and results"),
}
REPORT_SORTS = {"created": ReportExport.created_at, "kind": ReportExport.kind}


class ReportForm(FlaskForm):
    kind = SelectField(_l("Report"), choices=choices(
        [(k, KIND_LABELS[k]) for k in reports.KINDS]), validators=[InputRequired()])
    file_format = SelectField(_l("File"), choices=choices(
        [("csv", _l("CSV")), ("xlsx", _l("Excel (.xlsx)"))]), validators=[InputRequired()])
    event_id = SelectField(_l("Event"), choices=[], validate_choice=False,
                           validators=[Optional()])
    status = SelectField(_l("Status"), choices=choices(
        [("", _l("Any")), ("confirmed", _l("Confirmed")), ("pending_payment", _l("Pending payment")),
         ("cancelled", _l("Cancelled")), ("expired", _l("Expired")),
         ("completed", _l("Completed")), ("captured", _l("Captured")),
         ("refunded", _l("Refunded"))]), validators=[Optional()],
        description=_l("Bookings and payments reports only."))
    slot_id = IntegerField(_l("Slot number"), validators=[Optional()],
                           description=_l("Participants and attendance only."))
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            from wtforms.validators import ValidationError

            raise ValidationError(_("The end is before the start."))


@bp.app_template_global("report_kind_label")
def report_kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def _form() -> ReportForm:
    form = ReportForm()
    form.event_id.choices = choices([("", _("Any")), *event_choices()])
    return form


@bp.get("/reports", endpoint="reports")
@allow(READ)
def reports_page():
    return _reports_page(_form())


def _reports_page(form: ReportForm, *, status: int = 200, errors: list[str] | None = None):
    args = list_args(REPORT_SORTS, "created", "desc")
    page = page_of(select(ReportExport), REPORT_SORTS, args, tiebreak=ReportExport.id.desc())
    return render_template("admin/reports/index.html", form=form, page=page,
                           errors=errors or []), status


@bp.post("/reports/new")
@allow(OPERATE)
def report_new():
    form = _form()
    if not form.validate():
        return _reports_page(form, status=422)
    filters = {
        "event_id": int(form.event_id.data) if (form.event_id.data or "").isdigit() else None,
        "status": form.status.data or None,
        "slot_id": form.slot_id.data,
        "date_from": _iso(form.date_from.data),
        "date_to": _iso(form.date_to.data),
    }
    filters = {k: v for k, v in filters.items() if v not in (None, "")}
    try:
        report = reports.request_report(form.kind.data, form.file_format.data, filters,
                                        actor().id)
    except AppError as exc:
        return _reports_page(form, status=exc.status, errors=apply_error(form, exc))

    record("report.request", report, actor_id=actor().id, client_ip=actor().ip)
    flash(_("The report is being prepared."), "success")
    return redirect(url_for("admin_web.report_detail", report_id=report.id))


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _state(report: ReportExport) -> dict:
    return {
        "id": report.id,
        "status": report.status,
        "progress": report.progress,
        "error": report.error,
        "download_url": (url_for("admin_web.report_download", report_id=report.id)
                         if report.status == ExportStatus.DONE else None),
    }


@bp.get("/reports/<int:report_id>")
@allow(READ)
def report_detail(report_id: int):
    report = reports.get_report(report_id)
    return render_template("admin/reports/detail.html", r=report, state=_state(report))


@bp.get("/reports/<int:report_id>/status")
@allow(READ)
def report_status(report_id: int):
    # Read on its own: the job writes its progress on a connection of its own.

    report = reports.get_report(report_id)
    db.session.refresh(report)
    resp = jsonify(_state(report))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/reports/<int:report_id>/download")
@allow(READ)
def report_download(report_id: int):
    # The stored file's bytes (local storage) or a redirect to it (S3), as the API sends it.

    return downloads.send(reports.report_download(report_id))
