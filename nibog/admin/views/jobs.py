"""Failed jobs: RQ's failed registries, outbox rows that never reached the queue, and failed
messages (nibog.admin.failed_jobs), with requeue. Requeueing runs any kind of work again
(refunds too), so it is an admin's."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from nibog.admin import failed_jobs as fj
from nibog.admin.views import bp
from nibog.admin.views.access import ADMIN, READ, actor, allow
from nibog.admin.views.formkit import refusal
from nibog.admin.views.listing import arg
from nibog.core.audit import record
from nibog.core.errors import AppError

SOURCES = ("rq", "outbox", "notification")


@bp.get("/jobs/failed")
@allow(READ)
def failed_jobs():
    found = fj.list_failed()
    source = arg("source") if arg("source") in SOURCES else None
    items = [i for i in found["items"] if source is None or i["source"] == source]
    return render_template("admin/jobs/failed.html", items=items, total=found["total"])


@bp.post("/jobs/failed/<job_id>/requeue")
@allow(ADMIN)
def failed_job_requeue(job_id: str):
    try:
        fj.requeue(job_id)
    except AppError as exc:
        return render_template("admin/error.html", status=exc.status,
                               message=refusal(exc)), exc.status
    record("job.requeue", actor_id=actor().id, entity_type="job", entity_id=job_id,
           client_ip=actor().ip)
    flash(_("Queued again."), "success")
    return redirect(url_for("admin_web.failed_jobs"))
