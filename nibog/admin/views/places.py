"""Catalog: cities, venues and game templates (list, create, edit, delete).

Staff may look; only admins change anything. The catalog services validate, audit and refresh
the public cache; these views only turn forms into their input and back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from nibog.admin import catalog_lists as lists
from nibog.admin.views import bp
from nibog.admin.views.access import ADMIN, READ, actor, allow
from nibog.admin.views.forms import YES_NO, Page, RupeesField, attempt, deleted, yes_no
from nibog.admin.views.listing import arg, int_arg, list_args, page_of
from nibog.catalog import admin_service as svc
from nibog.catalog.models import City, GameTemplate, Venue
from nibog.extensions import db


def _form_page(form, heading, back, *, status=200, **extra):
    return render_template(
        "admin/form_page.html", form=form, heading=heading, back=back,
        readonly=current_user.role != "admin", **extra,
    ), status


@dataclass(frozen=True)
class Kind:
    """One kind of reference data and the words its pages say; the views below share the
    new / show / save / delete steps. Endpoints: ``<one>``, ``<one>_delete``, ``<many>``."""

    model: type
    what: str  # for "not found"
    one: str
    many: str
    form: Callable[..., Page]  # form(obj=...) - the object's values on a GET
    create: Callable
    update: Callable
    delete: Callable
    texts: dict  # new, list, heading, added, saved, deleted, confirm (lazy, %(name)s)
    page: dict = field(default_factory=dict)  # more for admin/form_page.html

    def back(self) -> tuple[str, str]:
        return url_for(f"admin_web.{self.many}"), str(self.texts["list"])

    def get(self, obj_id: int):
        return svc.get_or_404(self.model, obj_id, self.what)


def _new(kind: Kind, form: Page):
    if form.validate_on_submit():
        obj, refused = attempt(kind.create, form.data_for_service(), actor())
        if refused is None:
            flash(kind.texts["added"] % {"name": obj.name}, "success")
            return redirect(url_for(f"admin_web.{kind.many}"))
        form.refuse(refused)
    # 422 once submitted (the boundary rolls back).
    status = 422 if request.method == "POST" else 200
    return _form_page(form, str(kind.texts["new"]), kind.back(), status=status, **kind.page)


def _show(kind: Kind, obj_id: int):
    obj = kind.get(obj_id)
    return _edit_page(kind, kind.form(obj=obj), obj)


def _save(kind: Kind, obj_id: int):
    obj = kind.get(obj_id)
    form = kind.form(obj=None)
    if form.validate_on_submit():
        refused = attempt(kind.update, obj_id, form.data_for_service(), actor())[1]
        if refused is None:
            flash(str(kind.texts["saved"]), "success")
            return redirect(url_for(f"admin_web.{kind.many}"))
        form.refuse(refused)
        obj = kind.get(obj_id)
    return _edit_page(kind, form, obj, status=422)


def _edit_page(kind: Kind, form: Page, obj, status=200):
    return _form_page(
        form, kind.texts["heading"] % {"name": obj.name}, kind.back(), status=status,
        delete_url=url_for(f"admin_web.{kind.one}_delete", **{f"{kind.one}_id": obj.id}),
        delete_confirm=kind.texts["confirm"] % {"name": obj.name}, **kind.page,
    )


def _delete(kind: Kind, obj_id: int):
    return deleted(kind.delete, obj_id, actor(), done=url_for(f"admin_web.{kind.many}"),
                   refused_to=url_for(f"admin_web.{kind.one}", **{f"{kind.one}_id": obj_id}),
                   message=str(kind.texts["deleted"]))


# -- cities ----------------------------------------------------------------------------------


class CityForm(Page):
    name = StringField(_l("Name"), [DataRequired(), Length(max=100)])
    state = StringField(_l("State"), [Optional(), Length(max=100)])
    is_active = BooleanField(_l("Active (shown to parents)"), default=True)

    def data_for_service(self) -> dict:
        return {"name": self.name.data.strip(), "state": (self.state.data or "").strip(),
                "is_active": self.is_active.data}


@bp.get("/cities")
@allow(READ)
def cities():
    stmt, sorts = lists.cities(arg("q"), yes_no(arg("active")))
    page = page_of(stmt, sorts, list_args(sorts, "name"), tiebreak=City.id, rows=True)
    return render_template("admin/cities.html", page=page, yes_no=YES_NO)


CITY = Kind(
    City, "City", "city", "cities", CityForm, svc.create_city, svc.update_city, svc.delete_city,
    {"new": _l("New city"), "list": _l("Cities"), "heading": _l("City: %(name)s"),
     "added": _l("City %(name)s added."), "saved": _l("City saved."),
     "deleted": _l("City deleted."),
     "confirm": _l("Delete the city %(name)s? This cannot be undone.")},
)


@bp.route("/cities/new", methods=["GET", "POST"])
@allow(ADMIN)
def city_new():
    return _new(CITY, CityForm())


@bp.get("/cities/<int:city_id>")
@allow(READ)
def city(city_id: int):
    return _show(CITY, city_id)


@bp.post("/cities/<int:city_id>")
@allow(ADMIN)
def city_save(city_id: int):
    return _save(CITY, city_id)


@bp.post("/cities/<int:city_id>/delete")
@allow(ADMIN)
def city_delete(city_id: int):
    return _delete(CITY, city_id)


# -- venues ----------------------------------------------------------------------------------


def _city_options() -> list[tuple[int, str]]:
    return [(i, f"{name}, {state}" if state else name)
            for i, name, state in db.session.execute(lists.city_choices())]


class VenueForm(Page):
    city_id = SelectField(_l("City"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("Name"), [DataRequired(), Length(max=200)])
    address = TextAreaField(_l("Address"), [Optional(), Length(max=2000)])
    capacity = IntegerField(_l("Capacity (people)"), [Optional(), NumberRange(min=0)])
    latitude = FloatField(_l("Latitude"), [Optional(), NumberRange(min=-90, max=90)])
    longitude = FloatField(_l("Longitude"), [Optional(), NumberRange(min=-180, max=180)])
    is_active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.city_id.choices = [(0, _("Choose a city"))] + _city_options()

    def data_for_service(self) -> dict:
        return {
            "city_id": self.city_id.data, "name": self.name.data.strip(),
            "address": self.address.data or "", "capacity": self.capacity.data,
            "latitude": self.latitude.data, "longitude": self.longitude.data,
            "is_active": self.is_active.data,
        }


@bp.get("/venues")
@allow(READ)
def venues():
    stmt, sorts = lists.venues(arg("q"), int_arg("city_id"), yes_no(arg("active")))
    page = page_of(stmt, sorts, list_args(sorts, "name"), tiebreak=Venue.id)
    return render_template("admin/venues.html", page=page, cities=_city_options(), yes_no=YES_NO)


VENUE = Kind(
    Venue, "Venue", "venue", "venues", VenueForm, svc.create_venue, svc.update_venue,
    svc.delete_venue,
    {"new": _l("New venue"), "list": _l("Venues"), "heading": _l("Venue: %(name)s"),
     "added": _l("Venue %(name)s added."), "saved": _l("Venue saved."),
     "deleted": _l("Venue deleted."),
     "confirm": _l("Delete the venue %(name)s? This cannot be undone.")},
    {"wide": ["name"]},
)


@bp.route("/venues/new", methods=["GET", "POST"])
@allow(ADMIN)
def venue_new():
    return _new(VENUE, VenueForm(city_id=int_arg("city_id") or 0))


@bp.get("/venues/<int:venue_id>")
@allow(READ)
def venue(venue_id: int):
    return _show(VENUE, venue_id)


@bp.post("/venues/<int:venue_id>")
@allow(ADMIN)
def venue_save(venue_id: int):
    return _save(VENUE, venue_id)


@bp.post("/venues/<int:venue_id>/delete")
@allow(ADMIN)
def venue_delete(venue_id: int):
    return _delete(VENUE, venue_id)


# -- game templates --------------------------------------------------------------------------


class GameForm(Page):
    name = StringField(_l("Name"), [DataRequired(), Length(max=120)])
    category = StringField(_l("Category"), [Optional(), Length(max=60)],
                           description=_l("For example: running, crawling, puzzle"))
    min_age_months = IntegerField(_l("Youngest age (months)"),
                                  [DataRequired(), NumberRange(min=0, max=240)])
    max_age_months = IntegerField(_l("Oldest age (months)"),
                                  [DataRequired(), NumberRange(min=0, max=240)])
    duration_minutes = IntegerField(_l("Duration (minutes)"), [DataRequired(),
                                                              NumberRange(min=1, max=24 * 60)],
                                    default=60)
    default_price = RupeesField(_l("Default price (₹)"),
                                description=_l("Used when an event's game sets no price"))
    image_url = StringField(_l("Image URL"), [Optional(), URL(), Length(max=500)])
    description = TextAreaField(_l("Description"))
    is_active = BooleanField(_l("Active (can be added to events)"), default=True)

    def validate_max_age_months(self, field):
        low = self.min_age_months.data
        if field.data is not None and low is not None and field.data < low:
            raise ValidationError(_("Must not be below the youngest age."))

    def data_for_service(self) -> dict:
        return {
            "name": self.name.data.strip(), "category": (self.category.data or "").strip() or None,
            "min_age_months": self.min_age_months.data, "max_age_months": self.max_age_months.data,
            "duration_minutes": self.duration_minutes.data,
            "default_price": self.default_price.paise,
            "image_url": self.image_url.data or None, "description": self.description.data or "",
            "is_active": self.is_active.data,
        }


def _game_form(obj: GameTemplate | None = None) -> GameForm:
    form = GameForm(obj=obj)
    if obj is not None and request.method == "GET":
        form.default_price.set_paise(obj.default_price)
    return form


@bp.get("/games")
@allow(READ)
def games():
    stmt, sorts = lists.games(arg("q"), arg("category"), yes_no(arg("active")))
    page = page_of(stmt, sorts, list_args(sorts, "name"), tiebreak=GameTemplate.id)
    categories = [(c, c) for c in db.session.scalars(lists.game_categories())]
    return render_template("admin/games.html", page=page, categories=categories, yes_no=YES_NO)


GAME = Kind(
    GameTemplate, "Game", "game", "games", _game_form, svc.create_template, svc.update_template,
    svc.delete_template,
    {"new": _l("New game"), "list": _l("Games"), "heading": _l("Game: %(name)s"),
     "added": _l("Game %(name)s added."), "saved": _l("Game saved."),
     "deleted": _l("Game deleted."),
     "confirm": _l("Delete the game %(name)s? This cannot be undone.")},
)


@bp.route("/games/new", methods=["GET", "POST"])
@allow(ADMIN)
def game_new():
    return _new(GAME, _game_form())


@bp.get("/games/<int:game_id>")
@allow(READ)
def game(game_id: int):
    return _show(GAME, game_id)


@bp.post("/games/<int:game_id>")
@allow(ADMIN)
def game_save(game_id: int):
    return _save(GAME, game_id)


@bp.post("/games/<int:game_id>/delete")
@allow(ADMIN)
def game_delete(game_id: int):
    return _delete(GAME, game_id)
