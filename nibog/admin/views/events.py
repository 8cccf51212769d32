"""Catalog: events. The list with filters; create; the event page (basics, games with their
slot editors, add-ons with variants and stock, gallery, FAQs); publish, unpublish, cancel and
complete with the lifecycle service's guards; clone to a new date; delete.

Every form posts to its own URL; a refusal re-renders the whole event page with that form's
errors and values (422: the boundary rolls back whatever the service had flushed).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from nibog.admin import catalog_lists as lists
from nibog.admin.views import bp
from nibog.admin.views import event_forms as ef
from nibog.admin.views.access import ADMIN, READ, actor, allow
from nibog.admin.views.forms import attempt, deleted
from nibog.admin.views.labels import status_label
from nibog.admin.views.listing import arg, int_arg, list_args, page_of
from nibog.catalog import admin_service as svc
from nibog.catalog import event_admin, event_lifecycle
from nibog.catalog.models import EVENT_STATUSES, Event
from nibog.documents.certificates import available_templates
from nibog.extensions import db

STATUS_ACTIONS = {
    # to-status: (button label, confirmation or None, danger)
    "published": (_l("Publish"), None, False),
    "draft": (_l("Unpublish"), _l("Unpublish this event? Parents will no longer see it."), False),
    "completed": (_l("Mark completed"), _l(
        "Mark the event completed? Certificates will be made for every child who took part."),
        False),
    "cancelled": (_l("Cancel event"), _l(
        "Cancel this event? Every booking is cancelled and refunded in full. This cannot be "
        "undone."), True),
}


def _venues() -> list[tuple[int, str, int]]:
    return [(vid, f"{city} — {name}", city_id)
            for vid, name, city, city_id in db.session.execute(lists.venue_choices())]


def _templates() -> list[tuple[int, str]]:
    return [(tid, name if active else _("%(name)s (inactive)", name=name))
            for tid, name, active in db.session.execute(lists.template_choices())]


def _event_form(**kwargs) -> ef.EventForm:
    return ef.EventForm(venues=_venues(), templates=available_templates(), **kwargs)


def _date_arg(name):
    from datetime import date

    value = arg(name)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# -- list and create -------------------------------------------------------------------------


@bp.get("/events")
@allow(READ)
def events():
    stmt, sorts = lists.events(
        q=arg("q"), status=arg("status") if arg("status") in EVENT_STATUSES else None,
        city_id=int_arg("city_id"), venue_id=int_arg("venue_id"),
        date_from=_date_arg("from"), date_to=_date_arg("to"),
    )
    page = page_of(stmt, sorts, list_args(sorts, "date", "desc"), tiebreak=Event.id.desc(),
                   rows=True)
    cities = [(i, n) for i, n, _s in db.session.execute(lists.city_choices())]
    return render_template("admin/events.html", page=page, cities=cities,
                           statuses=[(s, status_label(s)) for s in EVENT_STATUSES])


@bp.route("/events/new", methods=["GET", "POST"])
@allow(ADMIN)
def event_new():
    form = _event_form()
    if form.validate_on_submit():
        event, refused = attempt(event_admin.create_event, form.data_for_service(), actor())
        if refused is None:
            flash(_("Event created as a draft. Now add its games and slots."), "success")
            return redirect(url_for("admin_web.event", event_id=event.id) + "#games")
        form.refuse(refused, {"city_id": "venue_id"})
    status = 422 if form.is_submitted() else 200
    return render_template("admin/event_new.html", form=form), status


# -- the event page --------------------------------------------------------------------------


def load_event(event_id: int) -> Event:
    return event_admin.load_for_edit(event_id)


def event_page(event_id: int, *, status: int = 200, forms: dict | None = None):
    """The event page; ``forms`` replaces the named forms (a submitted one with its errors)."""
    forms = forms or {}
    event = load_event(event_id)
    addons = event_admin.event_addons(event_id)
    gallery = svc.list_event_children("gallery", event_id)
    faqs = svc.list_event_children("faqs", event_id)

    basics = forms.get("basics")
    if basics is None:
        basics = _event_form(obj=event, formdata=None)
        basics.fill(event)
    game_forms = {}
    for game in event.games:
        form = forms.get(("game", game.id))
        if form is None:
            form = ef.GameForm(obj=game, prefix=f"g{game.id}", formdata=None)
            form.fill(game)
        game_forms[game.id] = form
    addon_forms = {}
    for addon in addons:
        form = forms.get(("addon", addon.id))
        if form is None:
            form = ef.AddOnForm(obj=addon, prefix=f"a{addon.id}", formdata=None)
            form.fill(addon)
        addon_forms[addon.id] = form
    faq_forms = {faq.id: forms.get(("faq", faq.id)) or ef.FaqForm.for_faq(faq, formdata=None)
                 for faq in faqs}
    new_game = forms.get("new_game") or ef.NewGameForm(prefix="newgame", templates=_templates(),
                                                       formdata=None)
    allowed = event_lifecycle.TRANSITIONS.get(event.status, set())
    return render_template(
        "admin/event.html", event=event, addons=addons, gallery=gallery, faqs=faqs,
        basics=basics, game_forms=game_forms, addon_forms=addon_forms, faq_forms=faq_forms,
        new_game=new_game,
        new_addon=forms.get("new_addon") or ef.AddOnForm(prefix="newaddon", formdata=None),
        new_image=forms.get("gallery") or ef.GalleryForm(prefix="gallery", formdata=None),
        new_faq=forms.get("faq") or ef.FaqForm(prefix="faq", formdata=None),
        clone=forms.get("clone") or ef.CloneForm(prefix="clone", formdata=None),
        actions=[(s, *STATUS_ACTIONS[s]) for s in ("published", "draft", "completed",
                                                  "cancelled") if s in allowed],
        readonly=current_user.role != "admin",
        has_day_page="admin_web.event_day" in current_app.view_functions,
    ), status


@bp.get("/events/<int:event_id>")
@allow(READ)
def event(event_id: int):
    return event_page(event_id)


def back_to(event_id: int, anchor: str = ""):
    return redirect(url_for("admin_web.event", event_id=event_id) + (f"#{anchor}" if anchor else ""))


@bp.post("/events/<int:event_id>")
@allow(ADMIN)
def event_save(event_id: int):
    load_event(event_id)
    form = _event_form()
    if form.validate_on_submit():
        refused = attempt(event_admin.update_event, event_id, form.data_for_service(), actor())[1]
        if refused is None:
            flash(_("Event saved."), "success")
            return back_to(event_id)
        form.refuse(refused, {"city_id": "venue_id"})
    return event_page(event_id, status=422, forms={"basics": form})


@bp.post("/events/<int:event_id>/status")
@allow(ADMIN)
def event_status(event_id: int):
    form = ef.StatusForm()
    if not form.validate_on_submit() or form.status.data not in STATUS_ACTIONS:
        abort(400)
    event, refused = attempt(event_lifecycle.change_status, event_id, form.status.data, actor())
    if refused is not None:
        if refused.status == 404:
            raise refused
        detail = "; ".join(m for msgs in refused.details.values() if isinstance(msgs, list)
                           for m in msgs)
        flash(f"{refused.message}{': ' + detail if detail else ''}", "error")
        return back_to(event_id)
    flash({
        "published": _("Published: parents can book it now."),
        "draft": _("Unpublished: back to draft."),
        "completed": _("Completed. Certificates are being generated."),
        "cancelled": _("Cancelled. Its bookings are being cancelled and refunded."),
    }[event.status], "success")
    return back_to(event_id)


@bp.post("/events/<int:event_id>/clone")
@allow(ADMIN)
def event_clone(event_id: int):
    load_event(event_id)
    form = ef.CloneForm(prefix="clone")
    if form.validate_on_submit():
        copy, refused = attempt(event_lifecycle.clone_event, event_id, form.event_date.data,
                                actor(), (form.title.data or "").strip() or None)
        if refused is None:
            flash(_("Copied to %(day)s as a draft.", day=str(copy.event_date)), "success")
            return redirect(url_for("admin_web.event", event_id=copy.id))
        form.refuse(refused)
    return event_page(event_id, status=422, forms={"clone": form})


@bp.post("/events/<int:event_id>/delete")
@allow(ADMIN)
def event_delete(event_id: int):
    return deleted(event_lifecycle.delete_event, event_id, actor(),
                   done=url_for("admin_web.events"),
                   refused_to=url_for("admin_web.event", event_id=event_id),
                   message=_("Event deleted."))


# -- games and slots -------------------------------------------------------------------------


def edit_event(event_id: int, change: dict):
    return attempt(event_admin.update_event, event_id, change, actor())[1]


@bp.post("/events/<int:event_id>/games")
@allow(ADMIN)
def event_game_add(event_id: int):
    load_event(event_id)
    form = ef.NewGameForm(prefix="newgame", templates=_templates())
    if form.validate_on_submit():
        slots = form.slot_entries()
        if slots is not None:
            entry = {"game_template_id": form.game_template_id.data, **form.game_fields(),
                     "slots": slots}
            refused = edit_event(event_id, {"games": [entry]})
            if refused is None:
                flash(_("Game added."), "success")
                return back_to(event_id, "games")
            form.refuse(refused)
    return event_page(event_id, status=422, forms={"new_game": form})


def _game(event: Event, game_id: int):
    game = next((g for g in event.games if g.id == game_id), None)
    if game is None:
        abort(404)
    return game


@bp.post("/events/<int:event_id>/games/<int:game_id>")
@allow(ADMIN)
def event_game_save(event_id: int, game_id: int):
    game = _game(load_event(event_id), game_id)
    form = ef.GameForm(prefix=f"g{game_id}")
    if form.validate_on_submit():
        slots = form.slot_entries({s.id: s for s in game.slots})
        if slots is not None:
            refused = edit_event(event_id, {"games": [{"id": game_id, **form.game_fields(),
                                                  "slots": slots}]})
            if refused is None:
                flash(_("Game and slots saved."), "success")
                return back_to(event_id, f"game-{game_id}")
            form.refuse(refused)
    return event_page(event_id, status=422, forms={("game", game_id): form})


@bp.post("/events/<int:event_id>/games/<int:game_id>/delete")
@allow(ADMIN)
def event_game_delete(event_id: int, game_id: int):
    _game(load_event(event_id), game_id)
    refused = edit_event(event_id, {"games": [{"id": game_id, "delete": True}]})
    flash(refused.message if refused else _("Game removed."), "error" if refused else "success")
    return back_to(event_id, "games")
