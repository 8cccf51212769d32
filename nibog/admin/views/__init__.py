"""The admin dashboard's HTML pages under /admin (blueprint ``admin_web``).

One blueprint for the whole back office, its pages split by area into the modules listed in
``PAGES``; each module adds its routes to ``bp``. A listed module that does not exist yet is
imported explicitly: a misspelt or missing module fails start-up instead of dropping pages.

Every route declares who may use it with ``access.allow(READ | OPERATE | ADMIN)``; a route
without a declaration is refused to everybody (see ``access``), and
tests/admin_web/test_role_matrix.py walks the URL map so a new route cannot escape the check.
"""

from __future__ import annotations

from importlib import import_module

from flask import Blueprint

bp = Blueprint("admin_web", __name__, url_prefix="/admin")

PAGES = (
    # foundations and catalog
    "dashboard",
    "places",
    "events",
    "event_parts",
    "promos",
    "event_day",
    # sales, money, people, content, operations
    "sales",
    "money",
    "people",
    "waitlists",
    "content",
    "messages",
    "jobs",
    "reports",
    "audit_log",
)

# The checks, list helpers and navigation every page relies on.
from nibog.admin.views import access, labels, listing, nav  # noqa: E402

for _name in PAGES:
    import_module(f"{__name__}.{_name}")

__all__ = ["access", "bp", "labels", "listing", "nav"]
