"""``/account/bookings``: a parent's bookings - the list, one booking (status, games, add-ons,
payments, ticket, certificates, review) and cancelling with the refund shown first.

Another parent's booking is 404 everywhere (the services look bookings up by owner).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from nibog.booking import overview
from nibog.booking import service as booking_service
from nibog.core.errors import AppError
from nibog.core.i18n import current_language, money
from nibog.documents import downloads
from nibog.documents import service as documents
from nibog.reviews import service as reviews
from nibog.web.account import bp, show_error
from nibog.web.account_forms import BookingFilterForm, CancelBookingForm, ReviewForm

PER_PAGE = 10


def page_number() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), 10_000) if raw.isdigit() and int(raw) > 0 else 1


@bp.get("/bookings")
def bookings():
    form = BookingFilterForm(request.args)
    status = form.status.data if form.validate() else None
    page = overview.bookings_page(current_user.id, page_number(), PER_PAGE, status or None)
    return render_template("web/account/bookings.html", page=page, form=form)


def _detail(booking_id: int, *, review_form: ReviewForm | None = None, status: int = 200):
    info = overview.booking_overview(booking_id, current_user.id)
    if review_form is None:
        review_form = ReviewForm(formdata=None, obj=info.review)
    return render_template("web/account/booking.html", info=info, b=info.booking,
                           review_form=review_form), status


@bp.get("/bookings/<int:booking_id>")
def booking(booking_id: int):
    return _detail(booking_id)


@bp.get("/bookings/<int:booking_id>/ticket.pdf")
def ticket(booking_id: int):
    return downloads.send(
        documents.ticket_download(booking_id, current_user._get_current_object(), inline=False,
                                  language=current_language())
    )


@bp.get("/bookings/<int:booking_id>/certificates/<int:child_id>.pdf")
def certificate(booking_id: int, child_id: int):
    return downloads.send(documents.certificate_download(
        booking_id, current_user._get_current_object(), child_id, inline=False,
        language=current_language()))


# --- cancelling ---------------------------------------------------------------------------------


def _cancel_page(booking_id: int, form: CancelBookingForm, status: int = 200, note=None):
    booking = overview.own_booking(booking_id, current_user.id)
    terms = booking_service.cancellation_terms(booking)
    form.expected_refund.data = terms.refund
    form.expected_refund.raw_data = [str(terms.refund)]  # the terms shown are the ones now
    return render_template("web/account/cancel.html", b=booking, terms=terms, form=form,
                           note=note), status if terms.cancellable else max(status, 409)


@bp.get("/bookings/<int:booking_id>/cancel")
def cancel(booking_id: int):
    return _cancel_page(booking_id, CancelBookingForm(formdata=None))


@bp.post("/bookings/<int:booking_id>/cancel")
def cancel_submit(booking_id: int):
    form = CancelBookingForm()
    booking = overview.own_booking(booking_id, current_user.id)
    if not form.validate():
        return _cancel_page(booking_id, form, 422)
    terms = booking_service.cancellation_terms(booking)
    if terms.cancellable and terms.refund != form.expected_refund.data:
        # The terms changed since the page was shown (the full-refund deadline passed, staff
        # refunded part): the parent confirms again, on what is true now.
        return _cancel_page(booking_id, form, 409, note=_(
            "The refund for this booking has changed since you opened this page. "
            "Please read it again before you confirm."))
    try:
        _booking, refund = booking_service.cancel_booking(
            booking_id, actor_id=current_user.id, reason=form.reason.data)
    except AppError as exc:
        if exc.code != "booking_not_cancellable":
            raise
        return _cancel_page(booking_id, form, exc.status)
    if refund and terms.method == "cash":
        flash(_("Your booking is cancelled. Collect your refund of %(amount)s at the NIBOG "
                "desk.", amount=money(refund)), "success")
    elif refund:
        flash(_("Your booking is cancelled. A refund of %(amount)s is on its way to the account "
                "you paid from; banks take 5-7 working days.", amount=money(refund)), "success")
    else:
        flash(_("Your booking is cancelled."), "success")
    return redirect(url_for("web_account.booking", booking_id=booking_id), 303)


# --- review -------------------------------------------------------------------------------------


@bp.post("/bookings/<int:booking_id>/review")
def review_submit(booking_id: int):
    form = ReviewForm()
    if not form.validate():
        return _detail(booking_id, review_form=form, status=422)
    booking = overview.own_booking(booking_id, current_user.id)
    existing, _refusal = reviews.review_state(booking, current_user.id)
    try:
        if existing is None:
            reviews.create_review(booking_id, current_user.id, rating=form.rating.data,
                                  comment=form.comment.data or "")
        else:
            reviews.update_review(booking_id, current_user.id, rating=form.rating.data,
                                  comment=form.comment.data or "")
    except AppError as exc:
        show_error(form, exc)
        return _detail(booking_id, review_form=form, status=exc.status)
    flash(_("Thank you! Your review is published on the event page."), "success")
    return redirect(url_for("web_account.booking", booking_id=booking_id) + "#review", 303)
