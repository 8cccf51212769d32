"""What the booking steps show, built from the event's cached detail and the basket: the step
bar, each child's games (from catalog.check_eligibility), the slot choices per child and game,
the add-on form's current values. No rule is decided here."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from nibog.catalog import service as catalog
from nibog.core.errors import AppError
from nibog.core.i18n import clock, money
from nibog.web import basket as bk
from nibog.web import booking_forms
from nibog.web.errors import message_for


def steps(current: str, basket: dict | None = None) -> list[tuple[str, str, str]]:
    names = [("who", _("Who")), ("children", _("Children")), ("games", _("Games")),
             ("slots", _("Times")), ("extras", _("Extras")), ("review", _("Review")),
             ("pay", _("Pay"))]
    index = [n for n, _label in names].index(current)
    return [(n, label, "current" if i == index else ("done" if i < index else ""))
            for i, (n, label) in enumerate(names)]


def eligibility(event_id: int, basket: dict) -> list[dict]:
    """Per chosen child, the service's answer: the games they fit on the event date, and the
    others with why not."""
    out = []
    for entry in basket["children"]:
        answer = catalog.check_eligibility(
            event_id, child_id=None, date_of_birth=bk.birth_date(entry), user=None)
        out.append({"child": entry, **answer})
    return out


def slot_groups(event: dict, basket: dict) -> list[dict]:
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


def slot_label(slot: dict) -> str:
    text = f"{clock(slot['start_time'])}–{clock(slot['end_time'])}"
    if slot.get("price") is not None:
        text += f" · {money(slot['price'])}"
    seats = slot["seats_left"]
    return text + " · " + ngettext("%(num)s seat left", "%(num)s seats left", seats)


def slots_form(groups: list[dict], basket: dict, formdata: bool):
    spec = [(g["name"], _("%(game)s for %(child)s", game=g["game"]["game"]["name"],
                          child=g["child"]["name"]),
             [(s["id"], slot_label(s)) for s in g["open"]]) for g in groups]
    if formdata:
        return booking_forms.slots_form(spec)
    chosen = {f"slot_{k}_{g}": s for k, s, g in basket["items"]}
    return booking_forms.slots_form(spec, {name: chosen.get(name) for name, _l, _c in spec})


def addons_data(basket: dict) -> dict:
    data = {}
    for addon_id, variant_id, quantity in basket["addons"]:
        data[f"qty_{addon_id}"] = quantity
        if variant_id is not None:
            data[f"variant_{addon_id}"] = variant_id
    return data


def event_detail(event_id: int) -> dict:
    try:
        return json.loads(catalog.event_detail_json(event_id))
    except AppError as exc:
        if exc.status == 404:
            abort(404)
        raise


def refused_redirect(event_id: int, basket: dict, exc: AppError):
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
        return redirect(url_for("web.event", event_id=event_id, slug=event_detail(event_id)["slug"]))
    return redirect(url_for("web_booking.review", event_id=event_id))
