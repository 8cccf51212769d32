"""Catalog: cities, venues and game templates (list, create, edit, delete).

Staff may look; only admins change anything. The catalog services validate, audit and refresh
the public cache; these views only turn forms into their input and back.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from nibog.admin import catalog_lists as lists
from nibog.admin.views import bp
from nibog.admin.views.access import ADMIN, READ, actor, allow
from nibog.admin.views.forms import YES_NO, Page, RupeesField, attempt, yes_no
from nibog.admin.views.listing import arg, int_arg, list_args, page_of
from nibog.catalog import admin_service as svc
from nibog.catalog.models import City, GameTemplate, Venue
from nibog.extensions import db


def _form_page(form, heading, back, *, status=200, **extra):
    return render_template(
        "admin/form_page.html", form=form, heading=heading, back=back,
        readonly=current_user.role != "admin", **extra,
    ), status


def _failed(form) -> int:
    """The status of a re-rendered form: 422 once submitted (the boundary rolls back)."""
    return 422 if request.method == "POST" else 200


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


@bp.route("/cities/new", methods=["GET", "POST"])
@allow(ADMIN)
def city_new():
    form = CityForm()
    if form.validate_on_submit():
        city, refused = attempt(svc.create_city, form.data_for_service(), actor())
        if refused is None:
            flash(_("City %(name)s added.", name=city.name), "success")
            return redirect(url_for("admin_web.cities"))
        form.refuse(refused)
    return _form_page(form, _("New city"), (url_for("admin_web.cities"), _("Cities")),
                      status=_failed(form))


@bp.get("/cities/<int:city_id>")
@allow(READ)
def city(city_id: int):
    obj = svc.get_or_404(City, city_id, "City")
    return _city_page(CityForm(obj=obj), obj)


@bp.post("/cities/<int:city_id>")
@allow(ADMIN)
def city_save(city_id: int):
    obj = svc.get_or_404(City, city_id, "City")
    form = CityForm()
    if form.validate_on_submit():
        refused = attempt(svc.update_city, city_id, form.data_for_service(), actor())[1]
        if refused is None:
            flash(_("City saved."), "success")
            return redirect(url_for("admin_web.cities"))
        form.refuse(refused)
        obj = svc.get_or_404(City, city_id, "City")
    return _city_page(form, obj, status=422)


def _city_page(form, obj, status=200):
    return _form_page(
        form, _("City: %(name)s", name=obj.name), (url_for("admin_web.cities"), _("Cities")),
        status=status, delete_url=url_for("admin_web.city_delete", city_id=obj.id),
        delete_confirm=_("Delete the city %(name)s? This cannot be undone.", name=obj.name),
    )


@bp.post("/cities/<int:city_id>/delete")
@allow(ADMIN)
def city_delete(city_id: int):
    refused = attempt(svc.delete_city, city_id, actor())[1]
    if refused is not None:
        if refused.status == 404:
            raise refused
        flash(refused.message, "error")
        return redirect(url_for("admin_web.city", city_id=city_id))
    flash(_("City deleted."), "success")
    return redirect(url_for("admin_web.cities"))


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


@bp.route("/venues/new", methods=["GET", "POST"])
@allow(ADMIN)
def venue_new():
    form = VenueForm(city_id=int_arg("city_id") or 0)
    if form.validate_on_submit():
        venue, refused = attempt(svc.create_venue, form.data_for_service(), actor())
        if refused is None:
            flash(_("Venue %(name)s added.", name=venue.name), "success")
            return redirect(url_for("admin_web.venues"))
        form.refuse(refused)
    return _form_page(form, _("New venue"), (url_for("admin_web.venues"), _("Venues")),
                      status=_failed(form), wide=["name"])


@bp.get("/venues/<int:venue_id>")
@allow(READ)
def venue(venue_id: int):
    obj = svc.get_or_404(Venue, venue_id, "Venue")
    return _venue_page(VenueForm(obj=obj), obj)


@bp.post("/venues/<int:venue_id>")
@allow(ADMIN)
def venue_save(venue_id: int):
    obj = svc.get_or_404(Venue, venue_id, "Venue")
    form = VenueForm()
    if form.validate_on_submit():
        refused = attempt(svc.update_venue, venue_id, form.data_for_service(), actor())[1]
        if refused is None:
            flash(_("Venue saved."), "success")
            return redirect(url_for("admin_web.venues"))
        form.refuse(refused)
        obj = svc.get_or_404(Venue, venue_id, "Venue")
    return _venue_page(form, obj, status=422)


def _venue_page(form, obj, status=200):
    return _form_page(
        form, _("Venue: %(name)s", name=obj.name), (url_for("admin_web.venues"), _("Venues")),
        status=status, wide=["name"],
        delete_url=url_for("admin_web.venue_delete", venue_id=obj.id),
        delete_confirm=_("Delete the venue %(name)s? This cannot be undone.", name=obj.name),
    )


@bp.post("/venues/<int:venue_id>/delete")
@allow(ADMIN)
def venue_delete(venue_id: int):
    refused = attempt(svc.delete_venue, venue_id, actor())[1]
    if refused is not None:
        if refused.status == 404:
            raise refused
        flash(refused.message, "error")
        return redirect(url_for("admin_web.venue", venue_id=venue_id))
    flash(_("Venue deleted."), "success")
    return redirect(url_for("admin_web.venues"))


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


@bp.route("/games/new", methods=["GET", "POST"])
@allow(ADMIN)
def game_new():
    form = _game_form()
    if form.validate_on_submit():
        game, refused = attempt(svc.create_template, form.data_for_service(), actor())
        if refused is None:
            flash(_("Game %(name)s added.", name=game.name), "success")
            return redirect(url_for("admin_web.games"))
        form.refuse(refused)
    return _form_page(form, _("New game"), (url_for("admin_web.games"), _("Games")),
                      status=_failed(form))


@bp.get("/games/<int:game_id>")
@allow(READ)
def game(game_id: int):
    obj = svc.get_or_404(GameTemplate, game_id, "Game")
    return _game_page(_game_form(obj), obj)


@bp.post("/games/<int:game_id>")
@allow(ADMIN)
def game_save(game_id: int):
    obj = svc.get_or_404(GameTemplate, game_id, "Game")
    form = _game_form()
    if form.validate_on_submit():
        refused = attempt(svc.update_template, game_id, form.data_for_service(), actor())[1]
        if refused is None:
            flash(_("Game saved."), "success")
            return redirect(url_for("admin_web.games"))
        form.refuse(refused)
        obj = svc.get_or_404(GameTemplate, game_id, "Game")
    return _game_page(form, obj, status=422)


def _game_page(form, obj, status=200):
    return _form_page(
        form, _("Game: %(name)s", name=obj.name), (url_for("admin_web.games"), _("Games")),
        status=status, delete_url=url_for("admin_web.game_delete", game_id=obj.id),
        delete_confirm=_("Delete the game %(name)s? This cannot be undone.", name=obj.name),
    )


@bp.post("/games/<int:game_id>/delete")
@allow(ADMIN)
def game_delete(game_id: int):
    refused = attempt(svc.delete_template, game_id, actor())[1]
    if refused is not None:
        if refused.status == 404:
            raise refused
        flash(refused.message, "error")
        return redirect(url_for("admin_web.game", game_id=game_id))
    flash(_("Game deleted."), "success")
    return redirect(url_for("admin_web.games"))
