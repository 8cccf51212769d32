"""The booking flow, one step per page (pretix's checkout steps): who is booking → children →
games each child may play → slots → extras → review → hold seats and pay.

Every step works as a plain form post (PRG). The basket (nibog.web.basket) keeps the choices;
the services price, check and book them: catalog.check_eligibility for the games a child fits,
booking.service.price_basket for the review, create_booking / create_guest_booking to hold the
seats. A refusal at the end (a slot filled meanwhile) sends the parent back to the step to
change, with everything else kept.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from nibog.accounts import children as children_service
from nibog.booking import guests
from nibog.booking import service as booking_service
from nibog.core.errors import AppError
from nibog.core.i18n import money
from nibog.extensions import db
from nibog.web import basket as bk
from nibog.web import booking_forms as forms
from nibog.web.booking_steps import (
    addons_data,
    eligibility,
    event_detail,
    refused_redirect,
    slot_groups,
    slots_form,
    steps,
)
from nibog.web.errors import attach, message_for

bp = Blueprint("web_booking", __name__, url_prefix="/book")


# --- helpers ------------------------------------------------------------------------------------


def _is_guest(basket: dict) -> bool:
    return not current_user.is_authenticated and basket.get("guest") is not None


def _basket_or_start(event_id: int, *, need: str | None = None):
    """(basket, None) when the flow may be at this step, else (None, redirect to the step)."""
    basket = bk.load(event_id)
    if not current_user.is_authenticated and basket.get("guest") is None:
        return None, redirect(url_for("web_booking.start", event_id=event_id))
    order = ["children", "games", "items"]
    if need is not None:
        for part in order[: order.index(need) + 1]:
            if not basket[part]:
                step = {"children": "children", "games": "games", "items": "slots"}[part]
                return None, redirect(url_for(f"web_booking.{step}", event_id=event_id))
    return basket, None


def own_children() -> list:
    return list(db.session.scalars(children_service.children_query(current_user)))


def _sync_own_children(basket: dict) -> list[dict]:
    """The parent's children as basket entries (names and birth dates from the record)."""
    return [{"key": f"c{c.id}", "name": c.full_name, "dob": c.date_of_birth.isoformat()}
            for c in own_children()]


def render_step(template: str, status: int = 200, **context):
    return render_template(template, **context), status


# --- who is booking -----------------------------------------------------------------------------


@bp.get("/<int:event_id>")
def start(event_id: int):
    event = event_detail(event_id)
    if not event["registration_open"]:
        flash(_("Online booking is closed for this event."), "warning")
        return redirect(url_for("web.event", event_id=event_id, slug=event["slug"]))
    basket = bk.load(event_id)
    bk.save(basket)
    if current_user.is_authenticated:
        return redirect(url_for("web_booking.children", event_id=event_id))
    form = forms.GuestForm(formdata=None, data=basket.get("guest") or {})
    return render_step("web/booking/start.html", event=event, form=form, steps=steps("who"))


@bp.post("/<int:event_id>/guest")
def guest(event_id: int):
    event = event_detail(event_id)
    form = forms.GuestForm()
    if not form.validate():
        return render_step("web/booking/start.html", 422, event=event, form=form, steps=steps("who"))
    basket = bk.load(event_id)
    basket["guest"] = {"full_name": form.full_name.data.strip(), "email": form.email.data.strip(),
                       "phone": form.phone.data.strip()}
    bk.save(basket)
    return redirect(url_for("web_booking.children", event_id=event_id))


# --- children -----------------------------------------------------------------------------------


def _children_page(event: dict, basket: dict, *, choose=None, add=None, status=200):
    entries = basket["children"] if _is_guest(basket) else _sync_own_children(basket)
    chosen = [c["key"] for c in basket["children"]]
    if not chosen and len(entries) == 1:
        chosen = [entries[0]["key"]]  # an only child is the obvious choice
    choose = choose or forms.ChooseChildrenForm(formdata=None, children=chosen)
    choose.children.choices = [(c["key"], c["name"]) for c in entries]
    add = add or forms.ChildForm(formdata=None)
    return render_step("web/booking/children.html", status, event=event, basket=basket,
                   entries=entries, choose=choose, add=add, guest=_is_guest(basket),
                   steps=steps("children"))


@bp.get("/<int:event_id>/children")
def children(event_id: int):
    basket, go = _basket_or_start(event_id)
    if go:
        return go
    return _children_page(event_detail(event_id), basket)


@bp.post("/<int:event_id>/children")
def children_submit(event_id: int):
    basket, go = _basket_or_start(event_id)
    if go:
        return go
    entries = basket["children"] if _is_guest(basket) else _sync_own_children(basket)
    form = forms.ChooseChildrenForm()
    form.children.choices = [(c["key"], c["name"]) for c in entries]
    if not form.validate():
        return _children_page(event_detail(event_id), basket, choose=form, status=422)
    chosen = [c for c in entries if c["key"] in form.children.data]
    if _is_guest(basket):
        basket["children"] = chosen  # a guest's unticked child is simply forgotten
        basket["items"] = []
        basket["games"] = []
    else:
        basket["children"] = chosen
        bk.keep_only_children(basket, [c["key"] for c in chosen])
    bk.save(basket)
    return redirect(url_for("web_booking.games", event_id=event_id))


@bp.post("/<int:event_id>/children/add")
def add_child(event_id: int):
    basket, go = _basket_or_start(event_id)
    if go:
        return go
    form = forms.ChildForm()
    if not form.validate():
        return _children_page(event_detail(event_id), basket, add=form, status=422)
    data = {"full_name": form.full_name.data.strip(), "date_of_birth": form.date_of_birth.data,
            "gender": form.gender.data or None}
    if _is_guest(basket):
        key = f"g{len(basket['children'])}"
        while bk.child(basket, key):
            key = f"g{int(key[1:]) + 1}"
        basket["children"].append({"key": key, "name": data["full_name"],
                                   "dob": data["date_of_birth"].isoformat(),
                                   "gender": data["gender"]})
    else:
        try:
            child = children_service.add_child(current_user, data)
        except AppError as exc:
            attach(form, exc)
            return _children_page(event_detail(event_id), basket, add=form, status=exc.status)
        basket["children"].append({"key": f"c{child.id}", "name": child.full_name,
                                   "dob": child.date_of_birth.isoformat()})
    bk.save(basket)
    flash(_("%(name)s is added and chosen for this booking.", name=data["full_name"]), "success")
    return redirect(url_for("web_booking.children", event_id=event_id))


# --- games --------------------------------------------------------------------------------------


def _games_page(event: dict, basket: dict, form=None, status: int = 200):
    fits = eligibility(event["id"], basket)
    choices = [(f"{f['child']['key']}:{g['event_game_id']}", g["name"])
               for f in fits for g in f["eligible_games"]]
    if form is None:
        form = forms.GamesForm(formdata=None, games=[f"{k}:{g}" for k, g in basket["games"]])
    form.games.choices = choices
    return render_step("web/booking/games.html", status, event=event, fits=fits, form=form,
                   steps=steps("games"))


@bp.get("/<int:event_id>/games")
def games(event_id: int):
    basket, go = _basket_or_start(event_id, need="children")
    if go:
        return go
    return _games_page(event_detail(event_id), basket)


@bp.post("/<int:event_id>/games")
def games_submit(event_id: int):
    basket, go = _basket_or_start(event_id, need="children")
    if go:
        return go
    event = event_detail(event_id)
    fits = eligibility(event_id, basket)
    form = forms.GamesForm()
    form.games.choices = [(f"{f['child']['key']}:{g['event_game_id']}", g["name"])
                          for f in fits for g in f["eligible_games"]]
    if not form.validate():
        return _games_page(event, basket, form, 422)
    pairs = [[key, int(game)] for key, game in (v.split(":") for v in form.games.data)]
    bk.keep_only_games(basket, pairs)
    bk.save(basket)
    return redirect(url_for("web_booking.slots", event_id=event_id))


# --- slots --------------------------------------------------------------------------------------


@bp.get("/<int:event_id>/slots")
def slots(event_id: int):
    basket, go = _basket_or_start(event_id, need="games")
    if go:
        return go
    event = event_detail(event_id)
    groups = slot_groups(event, basket)
    form = slots_form(groups, basket, formdata=False)
    return render_step("web/booking/slots.html", event=event, groups=groups, form=form,
                   basket=basket, steps=steps("slots"))


@bp.post("/<int:event_id>/slots")
def slots_submit(event_id: int):
    basket, go = _basket_or_start(event_id, need="games")
    if go:
        return go
    event = event_detail(event_id)
    groups = slot_groups(event, basket)
    form = slots_form(groups, basket, formdata=True)
    if not form.validate():
        return render_step("web/booking/slots.html", 422, event=event, groups=groups, form=form,
                       basket=basket, steps=steps("slots"))
    chosen = [[g["key"], form[g["name"]].data, g["game_id"]] for g in groups]
    clashes = booking_service.time_clashes(
        event_id, [{"child": key, "slot_id": slot} for key, slot, _game in chosen])
    if clashes:
        for clash in clashes:
            later = next(g for g, c in zip(groups, chosen, strict=True)
                         if c[0] == clash["child"] and c[1] == clash["slot_ids"][1])
            form[later["name"]].errors = [_(
                "%(child)s already plays another game at this time. Choose another time.",
                child=later["child"]["name"])]
        return render_step("web/booking/slots.html", 422, event=event, groups=groups, form=form,
                       basket=basket, steps=steps("slots"))
    basket["items"] = chosen
    basket["full_slots"] = []
    bk.save(basket)
    if event["addons"]:
        return redirect(url_for("web_booking.extras", event_id=event_id))
    return redirect(url_for("web_booking.review", event_id=event_id))


# --- extras -------------------------------------------------------------------------------------


@bp.get("/<int:event_id>/extras")
def extras(event_id: int):
    basket, go = _basket_or_start(event_id, need="items")
    if go:
        return go
    event = event_detail(event_id)
    form = forms.addons_form(event["addons"], addons_data(basket))
    return render_step("web/booking/extras.html", event=event, form=form, steps=steps("extras"))


@bp.post("/<int:event_id>/extras")
def extras_submit(event_id: int):
    basket, go = _basket_or_start(event_id, need="items")
    if go:
        return go
    event = event_detail(event_id)
    form = forms.addons_form(event["addons"])
    if not form.validate():
        return render_step("web/booking/extras.html", 422, event=event, form=form,
                       steps=steps("extras"))
    chosen = []
    for addon in event["addons"]:
        quantity = form[f"qty_{addon['id']}"].data or 0
        if quantity:
            variant = form[f"variant_{addon['id']}"].data if addon["variants"] else None
            chosen.append([addon["id"], variant, quantity])
    basket["addons"] = chosen
    bk.save(basket)
    return redirect(url_for("web_booking.review", event_id=event_id))


# --- review, promo, confirm ---------------------------------------------------------------------


def _breakdown(event_id: int, basket: dict, promo: str | None) -> dict:
    guest = _is_guest(basket)
    return booking_service.price_basket(
        event_id=event_id, items=bk.priced_items(basket, guest), addons=bk.service_addons(basket),
        promo_code=promo, user_id=None if guest else current_user.id)


def _review_page(event_id: int, basket: dict, *, promo_form=None, status: int = 200):
    event = event_detail(event_id)
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
                   guest=_is_guest(basket), steps=steps("review"))


@bp.get("/<int:event_id>/review")
def review(event_id: int):
    basket, go = _basket_or_start(event_id, need="items")
    if go:
        return go
    return _review_page(event_id, basket)


@bp.post("/<int:event_id>/promo")
def promo(event_id: int):
    basket, go = _basket_or_start(event_id, need="items")
    if go:
        return go
    form = forms.PromoForm()
    if request.form.get("remove"):
        basket["promo"] = None
        bk.save(basket)
        return redirect(url_for("web_booking.review", event_id=event_id))
    if not form.validate():
        return _review_page(event_id, basket, promo_form=form, status=422)
    guest = _is_guest(basket)
    answer = booking_service.preview_promo(
        code=form.code.data, event_id=event_id, items=bk.priced_items(basket, guest),
        addons=bk.service_addons(basket), user_id=None if guest else current_user.id)
    if not answer["valid"]:
        form.code.errors = [message_for(AppError(answer["code"], answer["message"]))]
        return _review_page(event_id, basket, promo_form=form, status=422)
    basket["promo"] = form.code.data.strip()
    bk.save(basket)
    flash(_("Promo code applied: you save %(amount)s.",
            amount=money(answer["discount"])), "success")
    return redirect(url_for("web_booking.review", event_id=event_id))


@bp.post("/<int:event_id>/confirm")
def confirm(event_id: int):
    basket, go = _basket_or_start(event_id, need="items")
    if go:
        return go
    if not forms.ConfirmForm().validate():
        abort(400)
    guest = _is_guest(basket)
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
        return refused_redirect(event_id, basket, exc)
    basket["booking_id"] = booking.id
    bk.save(basket)
    if booking.status == "confirmed":
        return redirect(url_for("web_checkout.done", booking_id=booking.id))
    return redirect(url_for("web_checkout.pay", booking_id=booking.id))
