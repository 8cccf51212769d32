"""``/account/favorites`` and ``/account/waiting-list``: the events a parent keeps an eye on,
and the full slots their children queue for - with the seat offered to them, held until the
offer window closes: paying for it is accepting it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from nibog import waitlist
from nibog.accounts import favorites as favorites_service
from nibog.booking.models import WAITLIST_STATUSES
from nibog.core.pagination import paginate
from nibog.core.timeutil import utcnow
from nibog.web.account import bp
from nibog.web.account_bookings import PER_PAGE, page_number
from nibog.web.account_forms import NextForm


@bp.get("/favorites")
def favorites():
    page = paginate(favorites_service.favorites_query(current_user._get_current_object()),
                    page_number(), PER_PAGE)
    return render_template("web/account/favorites.html", page=page, form=NextForm(formdata=None))


@bp.post("/favorites/<int:event_id>/remove")
def favorite_remove(event_id: int):
    favorites_service.remove_favorite(current_user._get_current_object(), event_id)
    flash(_("Removed from your favourites."), "success")
    return redirect(url_for("web_account.favorites"), 303)


@bp.get("/waiting-list")
def waiting_list():
    status = request.args.get("status")
    stmt = waitlist.entries_for_user(
        current_user.id, status if status in WAITLIST_STATUSES else None)
    page = paginate(stmt, page_number(), PER_PAGE, transform=waitlist.describe_entries)
    return render_template("web/account/waitlist.html", page=page, now=utcnow(),
                           form=NextForm(formdata=None))


@bp.post("/waiting-list/<int:entry_id>/leave")
def waiting_list_leave(entry_id: int):
    entry = waitlist.leave(current_user.id, entry_id)
    if entry.offered_booking_id is not None:
        flash(_("You have left the waiting list; the seat held for you goes to the next "
                "family."), "success")
    else:
        flash(_("You have left the waiting list."), "success")
    return redirect(url_for("web_account.waiting_list"), 303)
