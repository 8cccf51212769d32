"""Parent site. For now the home page: upcoming events, from the same catalog service as the API."""

from __future__ import annotations

from flask import Blueprint, render_template

from nibog.catalog import queries as q
from nibog.catalog import service as catalog
from nibog.core.money import format_inr

bp = Blueprint("web", __name__)


@bp.get("/")
def home():
    page = catalog.list_events(q.EventFilters(), "date", 1, 12)
    return render_template("web/home.html", events=page["items"], inr=format_inr)
