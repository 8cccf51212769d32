"""The side navigation: sections, their pages and who sees them (a page the user's role may not
open is left out)."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from nibog.admin.views import bp
from nibog.admin.views.access import can

NAV: tuple[tuple[str, tuple[tuple[str, str, object], ...]], ...] = (
    ("", (("admin_web.dashboard", "read", _l("Overview")),)),
    (_l("Catalog"), (
        ("admin_web.events", "read", _l("Events")),
        ("admin_web.cities", "read", _l("Cities")),
        ("admin_web.venues", "read", _l("Venues")),
        ("admin_web.games", "read", _l("Games")),
        ("admin_web.promo_codes", "read", _l("Promo codes")),
    )),
    (_l("Sales"), (
        ("admin_web.bookings", "read", _l("Bookings")),
        ("admin_web.waitlists", "read", _l("Waiting lists")),
        ("admin_web.payments", "read", _l("Payments")),
    )),
    (_l("People"), (("admin_web.users", "read", _l("Users")),)),
    (_l("Content"), (
        ("admin_web.pages", "read", _l("Pages")),
        ("admin_web.faqs", "read", _l("FAQs")),
        ("admin_web.testimonials", "read", _l("Testimonials")),
        ("admin_web.contact_messages", "read", _l("Contact messages")),
    )),
    (_l("Operations"), (
        ("admin_web.notifications", "read", _l("Notification log")),
        ("admin_web.failed_jobs", "read", _l("Failed jobs")),
        ("admin_web.reports", "read", _l("Reports")),
        ("admin_web.audit_log", "read", _l("Audit log")),
    )),
)


@bp.app_template_global("admin_nav")
def admin_nav() -> list[dict]:
    views = current_app.view_functions
    here = request.endpoint or ""
    sections = []
    for title, entries in NAV:
        links = [
            {"endpoint": endpoint, "label": label,
             # A detail page lights its list up: admin_web.event_edit under admin_web.events.
             "current": here == endpoint or here.startswith(endpoint.rstrip("s") + "_")}
            for endpoint, level, label in entries
            if endpoint in views and can(level)
        ]
        if links:
            sections.append({"title": title, "links": links})
    return sections
