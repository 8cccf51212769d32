"""After the seats are held: the pay page (with the hold's countdown), the gateway's way back,
the confirmation with the ticket, and "book again" when a hold ran out.

A booking is the signed-in parent's own, or a guest's whose access code this browser holds
(given at booking time or by the lookup); anyone else gets 404, as the API answers.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from nibog.booking.access import access_code_matches, guest_link_state, is_link_token
from nibog.booking.models import Booking
from nibog.booking.serialize import booking_to_dict
from nibog.core.errors import AppError
from nibog.core.i18n import current_language
from nibog.core.timeutil import as_utc, utcnow
from nibog.documents import service as documents
from nibog.documents.http import pdf_response
from nibog.extensions import csrf, db
from nibog.payments import service as payments
from nibog.payments.models import Payment
from nibog.web import basket as bk
from nibog.web.booking_forms import ConfirmForm
from nibog.web.errors import message_for

bp = Blueprint("web_checkout", __name__, url_prefix="/book")


def booking_for_visitor(booking_id: int) -> tuple[Booking, str | None]:
    """(booking, guest access code or None) if this browser may see it, else 404."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        abort(404)
    if booking.user_id is not None:
        if not current_user.is_authenticated or current_user.id != booking.user_id:
            abort(404)
        return booking, None
    code = bk.guest_code(booking_id)
    if not access_code_matches(booking, code):
        abort(404)
    return booking, code


def shown_code(code: str | None) -> str | None:
    """The access code to show the guest: not the stamp of the link they came by."""
    return None if is_link_token(code) else code


def take_link_code(booking_id: int, endpoint: str):
    """A link carrying ``?code=``: the access code (staff's payment link to a walk-in) or the
    signed stamp of a guest's e-mail or SMS (nibog.booking.access). This browser keeps it and
    the address loses it (it would stay in the history and go out in Referer). A link that
    does not open the booking sends the guest to the lookup form, saying why."""
    given = (request.args.get("code") or "").strip()
    code = given if is_link_token(given) else given.upper()
    found = db.session.get(Booking, booking_id)
    if found is None:
        return redirect(url_for(endpoint, booking_id=booking_id))
    if found.user_id is not None:
        # Booked as a guest, since joined to the account that proved the address: its page
        # is the account's now (sign in, then back).
        return redirect(url_for("web_account.booking", booking_id=booking_id))
    if access_code_matches(found, code):
        bk.remember_guest_code(booking_id, code)
        return redirect(url_for(endpoint, booking_id=booking_id))
    if access_code_matches(found, bk.guest_code(booking_id)):
        return redirect(url_for(endpoint, booking_id=booking_id))
    if guest_link_state(found, code) == "expired":
        # Genuine but old: the number is no secret to its holder; the code is still needed.
        flash(_("This link has expired. Enter the email or mobile number and the access code "
                "to open your booking."), "info")
        return redirect(url_for("web_guest.lookup", number=found.booking_number))
    flash(_("This link does not open a booking. Enter your booking details to find it."), "info")
    return redirect(url_for("web_guest.lookup"))


def _hold_over(booking: Booking) -> bool:
    if booking.status == "expired":
        return True
    return (booking.status == "pending_payment" and booking.hold_expires_at is not None
            and as_utc(booking.hold_expires_at) <= utcnow())


@bp.get("/<int:booking_id>/pay")
def pay(booking_id: int):
    if request.args.get("code"):
        return take_link_code(booking_id, "web_checkout.pay")
    booking, code = booking_for_visitor(booking_id)
    if booking.status in ("confirmed", "completed"):
        return redirect(url_for("web_checkout.done", booking_id=booking.id))
    view = booking_to_dict(booking)
    return render_template(
        "web/booking/pay.html", booking=booking, view=view, expired=_hold_over(booking),
        hold_until=as_utc(booking.hold_expires_at) if booking.hold_expires_at else None,
        guest_code=shown_code(code), form=ConfirmForm(),
    )


@bp.post("/<int:booking_id>/pay")
def pay_submit(booking_id: int):
    booking, code = booking_for_visitor(booking_id)
    if not ConfirmForm().validate():
        abort(400)
    try:
        payment = payments.create_payment(
            booking.id, payer_id=current_user.id if booking.user_id is not None else None,
            access_code=code)
    except AppError as exc:
        flash(message_for(exc), "error")
        return redirect(url_for("web_checkout.pay", booking_id=booking.id))
    checkout = (payment.raw or {}).get("checkout") or {}
    if checkout.get("checkout_url"):  # the sandbox's page
        return redirect(checkout["checkout_url"], 303)
    if checkout.get("redirect_url"):  # PhonePe's pay page
        return redirect(checkout["redirect_url"], 303)
    # Razorpay without its script: the hosted checkout, posted to by a plain form.
    return render_template(
        "web/booking/razorpay.html", booking=booking, checkout=checkout,
        callback=url_for("web_checkout.razorpay_return", booking_id=booking.id, _external=True),
    )


@bp.post("/<int:booking_id>/razorpay-return")
@csrf.exempt  # Razorpay's page posts here; the payment signature is what is checked
def razorpay_return(booking_id: int):
    payment = db.session.scalars(
        db.select(Payment).where(
            Payment.booking_id == booking_id,
            Payment.provider_order_id == request.form.get("razorpay_order_id", ""),
        )
    ).first()
    if payment is None:
        abort(404)
    if request.form.get("razorpay_payment_id"):
        try:
            payments.confirm_payment(
                payment.id, user=None, check_owner=False, source="redirect",
                provider_payment_id=request.form.get("razorpay_payment_id"),
                signature=request.form.get("razorpay_signature"),
            )
        except AppError as exc:
            flash(message_for(exc), "error")
            return redirect(url_for("web_checkout.pay", booking_id=booking_id))
    else:
        flash(_("The payment did not go through. You can try again."), "error")
        return redirect(url_for("web_checkout.pay", booking_id=booking_id))
    return redirect(url_for("web_checkout.done", booking_id=booking_id))


@bp.get("/<int:booking_id>/done")
def done(booking_id: int):
    booking, code = booking_for_visitor(booking_id)
    if booking.status == "confirmed":
        current = bk.current()
        if current and current.get("booking_id") == booking.id:
            bk.clear()  # booked and paid: the basket has done its job
    payments_made = db.session.scalars(
        db.select(Payment).where(Payment.booking_id == booking.id).order_by(Payment.id)
    ).all()
    return render_template(
        "web/booking/done.html", booking=booking, view=booking_to_dict(booking),
        guest_code=shown_code(code), payments=payments_made, expired=_hold_over(booking),
    )


@bp.get("/<int:booking_id>/ticket")
def ticket(booking_id: int):
    booking, code = booking_for_visitor(booking_id)
    try:
        if code is not None:
            pdf, filename = documents.guest_ticket_pdf(booking.id, code, current_language())
        else:
            pdf, filename = documents.ticket_pdf(booking.id, current_user, current_language())
    except AppError as exc:
        if exc.status == 404:
            abort(404)
        flash(message_for(exc), "error")
        return redirect(url_for("web_checkout.done", booking_id=booking.id))
    resp = pdf_response(pdf, filename, download=True)
    return resp


@bp.post("/<int:booking_id>/again")
def book_again(booking_id: int):
    """An expired hold: back to the review of the same basket (when this browser still has it)
    or to the event's first step."""
    booking, _code = booking_for_visitor(booking_id)
    if not ConfirmForm().validate():
        abort(400)
    current = bk.current()
    if current and current.get("booking_id") == booking.id:
        current["booking_id"] = None
        bk.save(current)
        return redirect(url_for("web_booking.review", event_id=booking.event_id))
    return redirect(url_for("web_booking.start", event_id=booking.event_id))
