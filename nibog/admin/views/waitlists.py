"""Waiting lists: the slots with a queue, each slot's entries and offers, and offering by hand
(the next in line now, or one chosen entry). Staff may offer: it is booking work."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from nibog.admin.views import bp
from nibog.admin.views.access import OPERATE, READ, actor, allow
from nibog.admin.views.formkit import refusal
from nibog.admin.views.listing import arg, int_arg, list_args, ordered
from nibog.admin.views.sales import event_choices
from nibog.booking.admin.queries import page_of_rows
from nibog.booking.models import WaitingListEntry
from nibog.catalog.models import GameSlot
from nibog.core.errors import AppError
from nibog.extensions import db
from nibog.waitlist import admin as wl


@bp.get("/waitlists")
@allow(READ)
def waitlists():
    filters = {
        "event_id": int_arg("event_id"),
        "state": "all" if arg("state") == "all" else "active",
        "upcoming": arg("upcoming") != "0",
    }
    args = list_args(wl.QUEUE_SORTS, "event_date", "asc")
    stmt = ordered(wl.slot_queue_rows(filters), wl.QUEUE_SORTS, args, tiebreak=GameSlot.id)
    page = page_of_rows(stmt, args.page, args.per_page)
    page["sort"], page["dir"] = args.sort, args.direction
    return render_template("admin/waitlists/slots.html", page=page, events=event_choices())


def _slot_page(slot_id: int, *, status: int = 200, errors: list[str] | None = None):
    return render_template("admin/waitlists/slot.html", q=wl.slot_queue(slot_id),
                           errors=errors or []), status


@bp.get("/waitlists/<int:slot_id>")
@allow(READ)
def waitlist_slot(slot_id: int):
    return _slot_page(slot_id)


@bp.post("/waitlists/<int:slot_id>/offer-next")
@allow(OPERATE)
def waitlist_offer_next(slot_id: int):
    try:
        offers = wl.offer_next(slot_id, actor_id=actor().id, client_ip=actor().ip)
    except AppError as exc:
        return _slot_page(slot_id, status=exc.status, errors=[refusal(exc)])
    if offers:
        flash(_("%(num)s offer(s) made to the first in line.", num=offers), "success")
    else:
        flash(_("No offer made: the slot has no free seat, or nobody is waiting."), "warning")
    return redirect(url_for("admin_web.waitlist_slot", slot_id=slot_id))


@bp.post("/waitlists/entries/<int:entry_id>/offer")
@allow(OPERATE)
def waitlist_offer_entry(entry_id: int):
    entry = db.session.get(WaitingListEntry, entry_id)
    if entry is None:
        return render_template("admin/error.html", status=404,
                               message=_("This record does not exist (any more).")), 404
    slot_id = entry.slot_id
    try:
        booking = wl.offer_entry(entry_id, actor_id=actor().id, client_ip=actor().ip)
    except AppError as exc:
        return _slot_page(slot_id, status=exc.status, errors=[refusal(exc)])
    flash(_("Seat offered: booking %(number)s is held for the parent to pay.",
            number=booking.booking_number), "success")
    return redirect(url_for("admin_web.waitlist_slot", slot_id=slot_id))


WAITLIST_STATES = {
    "waiting": _l("Waiting"), "offered": _l("Offered"), "booked": _l("Booked"),
    "expired": _l("Offer lapsed"), "cancelled": _l("Left or passed over"),
}


@bp.app_template_global("waitlist_state")
def waitlist_state(status: str) -> str:
    return str(WAITLIST_STATES.get(status, status))
