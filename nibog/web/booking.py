"""The booking flow (filled in below)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("web_booking", __name__)


@bp.get("/book/<int:event_id>")
def start(event_id: int):
    abort(404)


@bp.get("/book/<int:event_id>/waitlist/<int:slot_id>")
def waitlist(event_id: int, slot_id: int):
    abort(404)
