"""Translated names for the statuses the dashboard shows (the database keeps English codes)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from nibog.admin.views import bp

STATUS_LABELS = {
    # events
    "draft": _l("Draft"),
    "published": _l("Published"),
    "cancelled": _l("Cancelled"),
    "completed": _l("Completed"),
    # bookings
    "pending": _l("Pending payment"),
    "pending_payment": _l("Pending payment"),
    "confirmed": _l("Confirmed"),
    "expired": _l("Expired"),
    "refunded": _l("Refunded"),
    "partially_refunded": _l("Partly refunded"),
    # payments and jobs
    "paid": _l("Paid"),
    "captured": _l("Captured"),
    "failed": _l("Failed"),
    "created": _l("Created"),
    "queued": _l("Queued"),
    "running": _l("Running"),
    "done": _l("Done"),
    # items
    "attended": _l("Attended"),
    "checked_in": _l("Checked in"),
    "no_show": _l("No show"),
    "active": _l("Active"),
    "inactive": _l("Inactive"),
}


@bp.app_template_global("status_label")
def status_label(status: str | None) -> str:
    if status is None:
        return ""
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status.replace("_", " ").capitalize()
