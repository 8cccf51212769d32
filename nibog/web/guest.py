"""Guest bookings found again: booking number + the e-mail or mobile number used + the access
code shown at booking time (nibog.booking.guests). A match lets this browser see, pay, download
and cancel that booking (the code is kept in the session, as right after booking)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from nibog.booking import guests, lifecycle
from nibog.booking.api import guest_lookup_limit
from nibog.booking.serialize import booking_to_dict
from nibog.core.errors import AppError
from nibog.core.i18n import money
from nibog.web import basket as bk
from nibog.web.booking_forms import CancelForm, LookupForm
from nibog.web.checkout import booking_for_visitor, take_link_code
from nibog.web.errors import message_for

bp = Blueprint("web_guest", __name__, url_prefix="/bookings")


@bp.get("/lookup")
def lookup():
    # An expired e-mail link comes here with its booking number filled in.
    number = (request.args.get("number") or "")[:20]
    return render_template("web/guest/lookup.html",
                           form=LookupForm(formdata=None, booking_number=number))


@bp.post("/lookup")
@guest_lookup_limit
def lookup_submit():
    form = LookupForm()
    if not form.validate():
        return render_template("web/guest/lookup.html", form=form), 422
    code = form.access_code.data.strip().upper()
    try:
        booking = guests.find_guest_booking_by_contact(
            form.booking_number.data, form.contact.data, code)
    except AppError:
        form.form_errors.append(_("No booking matches these details. Check the booking number, "
                                  "the email or mobile number and the access code."))
        return render_template("web/guest/lookup.html", form=form), 404
    bk.remember_guest_code(booking.id, code)
    return redirect(url_for("web_guest.booking", booking_id=booking.id))


@bp.get("/<int:booking_id>")
def booking(booking_id: int):
    if request.args.get("code"):  # a link in the guest's e-mail or SMS
        return take_link_code(booking_id, "web_guest.booking")
    found, code = booking_for_visitor(booking_id)
    if code is None:
        abort(404)  # an account's booking lives under /account
    return render_template(
        "web/guest/booking.html", booking=found, view=booking_to_dict(found),
        cancel=lifecycle.cancellation_preview(found), form=CancelForm(formdata=None),
    )


@bp.post("/<int:booking_id>/cancel")
@guest_lookup_limit
def cancel(booking_id: int):
    found, code = booking_for_visitor(booking_id)
    if code is None:
        abort(404)
    form = CancelForm()
    if not form.validate():
        return render_template(
            "web/guest/booking.html", booking=found, view=booking_to_dict(found),
            cancel=lifecycle.cancellation_preview(found), form=form,
        ), 422
    try:
        _cancelled, refund = lifecycle.cancel_booking(
            found.id, actor_id=None, reason=form.reason.data)
    except AppError as exc:
        flash(message_for(exc), "error")
        return redirect(url_for("web_guest.booking", booking_id=booking_id))

    if refund:
        flash(_("Your booking is cancelled. %(amount)s will be refunded to your original "
                "payment method within 5–7 working days.", amount=money(refund)), "success")
    else:
        flash(_("Your booking is cancelled."), "success")
    return redirect(url_for("web_guest.booking", booking_id=booking_id))
