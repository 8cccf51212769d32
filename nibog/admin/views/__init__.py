"""The admin dashboard's HTML pages under /admin (blueprint ``admin_web``).

One blueprint for the whole back office, its pages split by area into modules imported below
by name: a misspelt or missing module fails start-up instead of dropping pages.

Every route declares who may use it with ``access.allow(READ | OPERATE | ADMIN)``; a route
without a declaration is refused to everybody (see ``access``), and
tests/admin_web/test_role_matrix.py walks the URL map so a new route cannot escape the check.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_web", __name__, url_prefix="/admin")

# The checks, list helpers and navigation every page relies on, then the pages by area (each
# module adds its routes to ``bp``).
from nibog.admin.views import access, labels, listing, nav  # noqa: E402, I001
from nibog.admin.views import (  # noqa: E402, F401
    dashboard, places, events, event_parts, promos, event_day,  # foundations and catalog
    sales, money, people, waitlists, content, messages, jobs, reports, audit_log,  # the rest
)

__all__ = ["access", "bp", "labels", "listing", "nav"]
