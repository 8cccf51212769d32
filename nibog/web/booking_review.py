"""The booking flow's last steps: review with the server's prices, promo code, confirm (the
hold is made here), a full slot at submit time explained, and joining a waiting list."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from nibog.booking import guests
from nibog.booking import service as booking_service
from nibog.booking import waitlist as waitlists
from nibog.core.errors import AppError
from nibog.web import basket as bk
from nibog.web import booking_forms as forms
from nibog.web.booking import (
    basket_or_start,
    bp,
    event_view,
    is_guest,
    own_children,
    render_step,
    steps,
)
from nibog.web.errors import message_for


def _breakdown(event_id: int, basket: dict, promo: str | None) -> dict:
    guest = is_guest(basket)
    return booking_service.price_basket(
        event_id=event_id, items=bk.priced_items(basket, guest), addons=bk.service_addons(basket),
        promo_code=promo, user_id=None if guest else current_user.id)


def _review_page(event_id: int, basket: dict, *, promo_form=None, status: int = 200):
    event = event_view(event_id)
    try:
        price = _breakdown(event_id, basket, basket.get("promo"))
    except AppError as exc:
        if exc.code not in ("promo_invalid", "promo_exhausted") or not basket.get("promo"):
            raise
        # The code stopped applying since it was accepted: say so, price without it.
        flash(message_for(exc), "warning")
        basket["promo"] = None
        bk.save(basket)
        price = _breakdown(event_id, basket, None)
    names = {c["key"]: c["name"] for c in basket["children"]}
    lines = [{**line, "child_name": names.get(item[0], "")}
             for line, item in zip(price["lines"], basket["items"], strict=True)]
    promo_form = promo_form or forms.PromoForm(formdata=None, code=basket.get("promo") or "")
    return render_step("web/booking/review.html", status, event=event, basket=basket, price=price,
                   lines=lines, promo_form=promo_form, confirm=forms.ConfirmForm(),
                   hold_minutes=current_app.config["BOOKING_HOLD_SECONDS"] // 60,
                   guest=is_guest(basket), steps=steps("review"))


@bp.get("/<int:event_id>/review")
def review(event_id: int):
    basket, go = basket_or_start(event_id, need="items")
    if go:
        return go
    return _review_page(event_id, basket)


@bp.post("/<int:event_id>/promo")
def promo(event_id: int):
    basket, go = basket_or_start(event_id, need="items")
    if go:
        return go
    form = forms.PromoForm()
    if request.form.get("remove"):
        basket["promo"] = None
        bk.save(basket)
        return redirect(url_for("web_booking.review", event_id=event_id))
    if not form.validate():
        return _review_page(event_id, basket, promo_form=form, status=422)
    guest = is_guest(basket)
    answer = booking_service.preview_promo(
        code=form.code.data, event_id=event_id, items=bk.priced_items(basket, guest),
        addons=bk.service_addons(basket), user_id=None if guest else current_user.id)
    if not answer["valid"]:
        form.code.errors = [message_for(AppError(answer["code"], answer["message"]))]
        return _review_page(event_id, basket, promo_form=form, status=422)
    basket["promo"] = form.code.data.strip()
    bk.save(basket)
    flash(_("Promo code applied: you save %(amount)s.",
            amount=_money(answer["discount"])), "success")
    return redirect(url_for("web_booking.review", event_id=event_id))


def _money(paise: int) -> str:
    from nibog.core.i18n import money

    return money(paise)


@bp.post("/<int:event_id>/confirm")
def confirm(event_id: int):
    basket, go = basket_or_start(event_id, need="items")
    if go:
        return go
    if not forms.ConfirmForm().validate():
        abort(400)
    guest = is_guest(basket)
    try:
        if guest:
            booking, code = guests.create_guest_booking(
                guest=basket["guest"],
                children=[{"full_name": c["name"], "date_of_birth": bk.birth_date(c),
                           "gender": c.get("gender")} for c in basket["children"]],
                event_id=event_id, items=bk.service_items(basket, guest=True),
                addons=bk.service_addons(basket), promo_code=basket.get("promo"))
            bk.remember_guest_code(booking.id, code)
        else:
            booking = booking_service.create_booking(
                user_id=current_user.id, event_id=event_id,
                items=bk.service_items(basket, guest=False), addons=bk.service_addons(basket),
                promo_code=basket.get("promo"), source="web")
    except AppError as exc:
        return _refused(event_id, basket, exc)
    basket["booking_id"] = booking.id
    bk.save(basket)
    if booking.status == "confirmed":
        return redirect(url_for("web_checkout.done", booking_id=booking.id))
    return redirect(url_for("web_checkout.pay", booking_id=booking.id))


def _refused(event_id: int, basket: dict, exc: AppError):
    """Back to the step that can fix the refusal, the rest of the basket kept (the failed
    request's work is rolled back by the boundary; the session is the basket)."""
    flash(message_for(exc), "error")
    if exc.code == "slot_overlap":
        return redirect(url_for("web_booking.slots", event_id=event_id))
    if exc.code == "slot_full":
        full = set(exc.details.get("slot_ids") or [])
        basket["full_slots"] = sorted(full)
        basket["items"] = [i for i in basket["items"] if i[1] not in full]
        bk.save(basket)
        flash(_("Choose another time for the game marked below; your other choices are kept."),
              "info")
        return redirect(url_for("web_booking.slots", event_id=event_id))
    if exc.code in ("already_booked", "child_not_eligible"):
        return redirect(url_for("web_booking.games", event_id=event_id))
    if exc.code == "addon_out_of_stock":
        return redirect(url_for("web_booking.extras", event_id=event_id))
    if exc.code in ("promo_invalid", "promo_exhausted"):
        basket["promo"] = None
        bk.save(basket)
    if exc.code == "registration_closed":
        return redirect(url_for("web.event", event_id=event_id, slug=event_view(event_id)["slug"]))
    return redirect(url_for("web_booking.review", event_id=event_id))


# --- waiting list -------------------------------------------------------------------------------


@bp.route("/<int:event_id>/waitlist/<int:slot_id>", methods=["GET", "POST"])
@login_required
def waitlist(event_id: int, slot_id: int):
    event = event_view(event_id)
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
        return render_step("web/booking/waitlist.html", 422, event=event, slot=slot, form=form)
    return render_step("web/booking/waitlist.html", event=event, slot=slot, form=form)
