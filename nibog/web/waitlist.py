"""Joining a full slot's waiting list from the event page (nibog.waitlist.join).
Entries and offers are listed in the parent's account."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from nibog import waitlist as waitlists
from nibog.core.errors import AppError
from nibog.web import booking_forms as forms
from nibog.web.booking import own_children
from nibog.web.booking import render_step as render
from nibog.web.booking_steps import event_detail
from nibog.web.errors import message_for

bp = Blueprint("web_waitlist", __name__)


@bp.route("/book/<int:event_id>/waitlist/<int:slot_id>", methods=["GET", "POST"])
@login_required
def join(event_id: int, slot_id: int):
    event = event_detail(event_id)
    slot = next((s for g in event["games"] for s in g["slots"] if s["id"] == slot_id), None)
    if slot is None:
        abort(404)
    form = forms.WaitlistForm()
    form.child_id.choices = [(c.id, c.full_name) for c in own_children()]
    if request.method == "POST":
        if form.validate():
            try:
                waitlists.join(current_user.id, slot_id, form.child_id.data)
            except AppError as exc:
                form.child_id.errors = [message_for(exc)]
            else:
                flash(_("You are on the waiting list. We will e-mail you if a seat frees up."),
                      "success")
                return redirect(url_for("web.event", event_id=event_id, slug=event["slug"]))
        return render("web/booking/waitlist.html", 422, event=event, slot=slot, form=form)
    return render("web/booking/waitlist.html", event=event, slot=slot, form=form)
