"""The audit log viewer: every write made from the dashboard and the admin API, who made it,
and the record before and after. Read-only, for everyone on the dashboard."""

from __future__ import annotations

from flask import render_template

from nibog.admin.audit_queries import AUDIT_SORTS, audit_rows, entity_types
from nibog.admin.views import bp
from nibog.admin.views.access import READ, allow
from nibog.admin.views.listing import arg, int_arg, list_args, ordered
from nibog.admin.views.sales import date_arg
from nibog.booking.admin.queries import page_of_rows
from nibog.core.audit import AuditLog


@bp.get("/audit-log")
@allow(READ)
def audit_log():
    filters = {
        "actor": arg("actor"),
        "actor_id": int_arg("actor_id"),
        "action": arg("action"),
        "entity_type": arg("entity_type"),
        "entity_id": arg("entity_id"),
        "date_from": date_arg("date_from"),
        "date_to": date_arg("date_to"),
    }
    args = list_args(AUDIT_SORTS, "created", "desc")
    stmt = ordered(audit_rows(filters), AUDIT_SORTS, args, tiebreak=AuditLog.id.desc())
    page = page_of_rows(stmt, args.page, args.per_page)
    page["sort"], page["dir"] = args.sort, args.direction
    return render_template("admin/audit_log.html", page=page,
                           entity_types=[(t, t) for t in entity_types()])


@bp.app_template_filter("changed_keys")
def changed_keys(row: AuditLog) -> list[tuple[str, object, object]]:
    """(field, before, after) for the fields an entry changed; all of ``after`` for a new one."""
    before, after = row.before or {}, row.after or {}
    keys = [k for k in after if k not in ("updated_at", "created_at")]
    if before:
        keys = [k for k in keys if before.get(k) != after.get(k)]
    return [(k, before.get(k), after.get(k)) for k in keys[:12]]
