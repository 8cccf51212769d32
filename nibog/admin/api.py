"""Admin API for reports and jobs: POST/GET /api/admin/reports, GET /api/admin/jobs/failed."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from nibog.admin import failed_jobs, reports
from nibog.admin.models import ReportExport
from nibog.core.audit import record
from nibog.core.auth import auth_required, current_user
from nibog.core.pagination import PageArgsSchema, page_schema, paginate
from nibog.documents import downloads
from nibog.documents.certificates import available_templates

blp = Blueprint(
    "admin_reports_jobs",
    __name__,
    url_prefix="/api/admin",
    description="Admin: report exports, failed jobs, certificate templates",
)


class ReportFiltersSchema(Schema):
    event_id = fields.Integer()
    slot_id = fields.Integer()
    status = fields.String(validate=validate.Length(max=30))
    date_from = fields.Date(metadata={"description": "event date (participants, attendance) or "
                                                    "creation date (bookings, payments)"})
    date_to = fields.Date()


class ReportRequestSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(reports.KINDS))
    format = fields.String(load_default="csv", validate=validate.OneOf(reports.FORMATS))
    filters = fields.Nested(ReportFiltersSchema, load_default=dict)


class ReportSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    format = fields.String()
    filters = fields.Dict()
    status = fields.String(metadata={"description": "queued | running | done | failed"})
    progress = fields.Integer(metadata={"description": "0-100"})
    error = fields.String(allow_none=True)
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)
    download_url = fields.String(allow_none=True)


class FailedJobSchema(Schema):
    source = fields.String(metadata={"description": "rq | outbox | notification"})
    id = fields.String()
    queue = fields.String()
    func = fields.String()
    args = fields.List(fields.Raw())
    error = fields.String()
    failed_at = fields.String(allow_none=True)
    attempts = fields.Integer(allow_none=True)


class FailedJobsSchema(Schema):
    items = fields.List(fields.Nested(FailedJobSchema))
    total = fields.Integer()


class RequeuedSchema(Schema):
    id = fields.String()


class CertificateTemplateSchema(Schema):
    name = fields.String()
    label = fields.String()


@blp.route("/reports", methods=["POST"])
@auth_required("admin")
@blp.arguments(ReportRequestSchema)
@blp.response(202, ReportSchema)
def create_report(data):
    filters = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
               for k, v in (data.get("filters") or {}).items() if v is not None}
    user = current_user()
    report = reports.request_report(data["kind"], data["format"], filters, user.id)
    record("report.request", report, actor_id=user.id)
    return reports.serialize(reports.get_report(report.id))


@blp.route("/reports", methods=["GET"])
@auth_required("admin")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_schema(ReportSchema, "ReportPage"))
def list_reports(args):
    stmt = select(ReportExport).order_by(ReportExport.id.desc())
    return paginate(stmt, args["page"], args["per_page"],
                    lambda rows: [reports.serialize(r) for r in rows])


@blp.route("/reports/<int:report_id>", methods=["GET"])
@auth_required("admin")
@blp.response(200, ReportSchema)
def report_status(report_id: int):
    return reports.serialize(reports.get_report(report_id))


@blp.route("/reports/<int:report_id>/download", methods=["GET"])
@auth_required("admin")
@blp.alt_response(200, description="The CSV or XLSX file", success=True)
def report_download(report_id: int):
    return downloads.send(reports.report_download(report_id))


@blp.route("/jobs/failed", methods=["GET"])
@auth_required("admin")
@blp.response(200, FailedJobsSchema)
def jobs_failed():
    return failed_jobs.list_failed()


@blp.route("/jobs/failed/<job_id>/requeue", methods=["POST"])
@auth_required("admin")
@blp.response(202, RequeuedSchema)
def jobs_requeue(job_id: str):
    failed_jobs.requeue(job_id)
    record("job.requeue", actor_id=current_user().id, entity_type="job", entity_id=job_id)
    return {"id": job_id}


@blp.route("/certificate-templates", methods=["GET"])
@auth_required("admin", "staff")
@blp.response(200, CertificateTemplateSchema(many=True))
def certificate_templates():
    return available_templates()
