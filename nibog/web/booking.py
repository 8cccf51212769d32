"""The booking flow, one step per page (pretix's checkout steps): who is booking → children →
games each child may play → slots → extras → review → hold seats and pay.

Every step works as a plain form post (PRG). The basket (nibog.web.basket) keeps the choices;
the services price, check and book them: catalog.check_eligibility for the games a child fits,
booking.service.price_basket for the review, create_booking / create_guest_booking to hold the
seats. A refusal at the end (a slot filled meanwhile) sends the parent back to the step to
change, with everything else kept.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from nibog.accounts import children as children_service
from nibog.booking import service as booking_service
from nibog.catalog import service as catalog
from nibog.core.errors import AppError
from nibog.web import basket as bk
from nibog.web import booking_forms as forms
from nibog.web.errors import attach

bp = Blueprint("web_booking", __name__, url_prefix="/book")


# --- helpers ------------------------------------------------------------------------------------


def event_view(event_id: int) -> dict:
    try:
        return json.loads(catalog.event_detail_json(event_id))
    except AppError as exc:
        if exc.status == 404:
            abort(404)
        raise


def is_guest(basket: dict) -> bool:
    return not current_user.is_authenticated and basket.get("guest") is not None


def basket_or_start(event_id: int, *, need: str | None = None):
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
    from nibog.extensions import db

    return list(db.session.scalars(children_service.children_query(current_user)))


def _sync_own_children(basket: dict) -> list[dict]:
    """The parent's children as basket entries (names and birth dates from the record)."""
    kids = [{"key": f"c{c.id}", "name": c.full_name, "dob": c.date_of_birth.isoformat()}
            for c in own_children()]
    return kids


def steps(current: str, basket: dict | None = None) -> list[tuple[str, str, str]]:
    names = [("who", _("Who")), ("children", _("Children")), ("games", _("Games")),
             ("slots", _("Times")), ("extras", _("Extras")), ("review", _("Review")),
             ("pay", _("Pay"))]
    index = [n for n, _label in names].index(current)
    return [(n, label, "current" if i == index else ("done" if i < index else ""))
            for i, (n, label) in enumerate(names)]


def render_step(template: str, status: int = 200, **context):
    return render_template(template, **context), status


# --- who is booking -----------------------------------------------------------------------------


@bp.get("/<int:event_id>")
def start(event_id: int):
    event = event_view(event_id)
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
    event = event_view(event_id)
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
    entries = basket["children"] if is_guest(basket) else _sync_own_children(basket)
    chosen = [c["key"] for c in basket["children"]]
    if not chosen and len(entries) == 1:
        chosen = [entries[0]["key"]]  # an only child is the obvious choice
    choose = choose or forms.ChooseChildrenForm(formdata=None, children=chosen)
    choose.children.choices = [(c["key"], c["name"]) for c in entries]
    add = add or forms.ChildForm(formdata=None)
    return render_step("web/booking/children.html", status, event=event, basket=basket,
                   entries=entries, choose=choose, add=add, guest=is_guest(basket),
                   steps=steps("children"))


@bp.get("/<int:event_id>/children")
def children(event_id: int):
    basket, go = basket_or_start(event_id)
    if go:
        return go
    return _children_page(event_view(event_id), basket)


@bp.post("/<int:event_id>/children")
def children_submit(event_id: int):
    basket, go = basket_or_start(event_id)
    if go:
        return go
    entries = basket["children"] if is_guest(basket) else _sync_own_children(basket)
    form = forms.ChooseChildrenForm()
    form.children.choices = [(c["key"], c["name"]) for c in entries]
    if not form.validate():
        return _children_page(event_view(event_id), basket, choose=form, status=422)
    chosen = [c for c in entries if c["key"] in form.children.data]
    if is_guest(basket):
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
    basket, go = basket_or_start(event_id)
    if go:
        return go
    form = forms.ChildForm()
    if not form.validate():
        return _children_page(event_view(event_id), basket, add=form, status=422)
    data = {"full_name": form.full_name.data.strip(), "date_of_birth": form.date_of_birth.data,
            "gender": form.gender.data or None}
    if is_guest(basket):
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
            return _children_page(event_view(event_id), basket, add=form, status=exc.status)
        basket["children"].append({"key": f"c{child.id}", "name": child.full_name,
                                   "dob": child.date_of_birth.isoformat()})
    bk.save(basket)
    flash(_("%(name)s is added and chosen for this booking.", name=data["full_name"]), "success")
    return redirect(url_for("web_booking.children", event_id=event_id))


# --- games --------------------------------------------------------------------------------------


def _eligibility(event_id: int, basket: dict) -> list[dict]:
    """Per chosen child, the service's answer: the games they fit on the event date, and the
    others with why not."""
    out = []
    for entry in basket["children"]:
        answer = catalog.check_eligibility(
            event_id, child_id=None, date_of_birth=bk.birth_date(entry), user=None)
        out.append({"child": entry, **answer})
    return out


def _games_page(event: dict, basket: dict, form=None, status: int = 200):
    fits = _eligibility(event["id"], basket)
    choices = [(f"{f['child']['key']}:{g['event_game_id']}", g["name"])
               for f in fits for g in f["eligible_games"]]
    if form is None:
        form = forms.GamesForm(formdata=None, games=[f"{k}:{g}" for k, g in basket["games"]])
    form.games.choices = choices
    return render_step("web/booking/games.html", status, event=event, fits=fits, form=form,
                   steps=steps("games"))


@bp.get("/<int:event_id>/games")
def games(event_id: int):
    basket, go = basket_or_start(event_id, need="children")
    if go:
        return go
    return _games_page(event_view(event_id), basket)


@bp.post("/<int:event_id>/games")
def games_submit(event_id: int):
    basket, go = basket_or_start(event_id, need="children")
    if go:
        return go
    event = event_view(event_id)
    fits = _eligibility(event_id, basket)
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


def _slot_groups(event: dict, basket: dict) -> list[dict]:
    games = {g["event_game_id"]: g for g in event["games"]}
    groups = []
    for key, game_id in basket["games"]:
        game, entry = games.get(game_id), bk.child(basket, key)
        if game is None or entry is None:
            continue
        groups.append({"name": f"slot_{key}_{game_id}", "key": key, "game_id": game_id,
                       "child": entry, "game": game,
                       "open": [s for s in game["slots"] if s["status"] == "available"],
                       "unavailable": [s for s in game["slots"] if s["status"] != "available"]})
    return groups


def _slot_label(slot: dict) -> str:
    from nibog.core.i18n import clock, money

    text = f"{clock(slot['start_time'])}–{clock(slot['end_time'])}"
    if slot.get("price") is not None:
        text += f" · {money(slot['price'])}"
    seats = slot["seats_left"]
    return text + " · " + ngettext("%(num)s seat left", "%(num)s seats left", seats)


def _slots_form(groups: list[dict], basket: dict, formdata: bool):
    spec = [(g["name"], _("%(game)s for %(child)s", game=g["game"]["game"]["name"],
                          child=g["child"]["name"]),
             [(s["id"], _slot_label(s)) for s in g["open"]]) for g in groups]
    if formdata:
        return forms.slots_form(spec)
    chosen = {f"slot_{k}_{g}": s for k, s, g in basket["items"]}
    return forms.slots_form(spec, {name: chosen.get(name) for name, _l, _c in spec})


@bp.get("/<int:event_id>/slots")
def slots(event_id: int):
    basket, go = basket_or_start(event_id, need="games")
    if go:
        return go
    event = event_view(event_id)
    groups = _slot_groups(event, basket)
    form = _slots_form(groups, basket, formdata=False)
    return render_step("web/booking/slots.html", event=event, groups=groups, form=form,
                   basket=basket, steps=steps("slots"))


@bp.post("/<int:event_id>/slots")
def slots_submit(event_id: int):
    basket, go = basket_or_start(event_id, need="games")
    if go:
        return go
    event = event_view(event_id)
    groups = _slot_groups(event, basket)
    form = _slots_form(groups, basket, formdata=True)
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


def _addons_data(basket: dict) -> dict:
    data = {}
    for addon_id, variant_id, quantity in basket["addons"]:
        data[f"qty_{addon_id}"] = quantity
        if variant_id is not None:
            data[f"variant_{addon_id}"] = variant_id
    return data


@bp.get("/<int:event_id>/extras")
def extras(event_id: int):
    basket, go = basket_or_start(event_id, need="items")
    if go:
        return go
    event = event_view(event_id)
    form = forms.addons_form(event["addons"], _addons_data(basket))
    return render_step("web/booking/extras.html", event=event, form=form, steps=steps("extras"))


@bp.post("/<int:event_id>/extras")
def extras_submit(event_id: int):
    basket, go = basket_or_start(event_id, need="items")
    if go:
        return go
    event = event_view(event_id)
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
