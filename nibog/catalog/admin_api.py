"""Admin catalog API: cities, venues, game templates, events (nested), gallery, event FAQs.

Role ``admin`` writes; ``staff`` may read. Every write commits once here and is audited by the
service.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from nibog.catalog import admin_schemas as a
from nibog.catalog import admin_service as svc
from nibog.catalog import event_admin, event_lifecycle, service
from nibog.catalog.models import EVENT_STATUSES, City, GameTemplate, Venue
from nibog.catalog.schemas import EventDetailSchema, EventPageSchema
from nibog.core.auth import auth_required, current_user
from nibog.core.client_ip import client_ip

blp = Blueprint(
    "admin_catalog", __name__, url_prefix="/api/admin", description="Admin: catalog management"
)

READ = ("admin", "staff")
WRITE = ("admin",)



def actor() -> svc.Actor:
    return svc.Actor(id=current_user().id, ip=client_ip())


def _detail(event_id: int) -> dict:
    return service.event_detail(event_id, include_drafts=True, primary=True)


class StatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(EVENT_STATUSES))


def _reference(kind: str, path: str, model, what: str, schemas: tuple, writes: tuple,
               in_use: str) -> None:
    """GET one, POST, PUT and DELETE of one kind of reference data (endpoints ``get_<kind>``,
    ``create_<kind>``, ...): ``schemas`` in, update, out; ``writes`` the service's create,
    update and delete; ``in_use`` documents the delete's 409."""
    schema_in, schema_update, schema_out = schemas
    create, update, delete = writes
    id_name = f"{kind}_id"

    def get_view(**ids):
        return svc.get_or_404(model, ids[id_name], what)

    def create_view(data):
        return create(data, actor())

    def update_view(data, **ids):
        return update(ids[id_name], data, actor())

    def delete_view(**ids):
        delete(ids[id_name], actor())

    delete_view.__doc__ = in_use
    for fn in (get_view, create_view, update_view, delete_view):
        fn.__name__ = f"{fn.__name__.removesuffix('_view')}_{kind}"
    one = f"/{path}/<int:{id_name}>"
    blp.route(one, methods=["GET"])(auth_required(*READ)(blp.response(200, schema_out)(get_view)))
    blp.route(f"/{path}", methods=["POST"])(auth_required(*WRITE)(
        blp.arguments(schema_in)(blp.response(201, schema_out)(create_view))))
    blp.route(one, methods=["PUT"])(auth_required(*WRITE)(
        blp.arguments(schema_update)(blp.response(200, schema_out)(update_view))))
    blp.route(one, methods=["DELETE"])(auth_required(*WRITE)(blp.response(204)(delete_view)))


# -- cities ----------------------------------------------------------------------------------


@blp.get("/cities")
@auth_required(*READ)
@blp.arguments(a.CityListArgs, location="query")
@blp.response(200, a.CityPage)
def list_cities(args):
    return svc.list_cities(args["page"], args["per_page"], args.get("q"), args.get("is_active"))


_reference("city", "cities", City, "City", (a.CityIn, a.CityUpdate, a.CityOut),
           (svc.create_city, svc.update_city, svc.delete_city),
           "409 ``city_in_use`` while the city has venues or events.")


# -- venues ----------------------------------------------------------------------------------


@blp.get("/venues")
@auth_required(*READ)
@blp.arguments(a.VenueListArgs, location="query")
@blp.response(200, a.VenuePage)
def list_venues(args):
    return svc.list_venues(args["page"], args["per_page"], args.get("city_id"), args.get("q"))


@blp.get("/venues/by-city/<int:city_id>")
@auth_required(*READ)
@blp.response(200, a.VenueOut(many=True))
def venues_by_city(city_id):
    return svc.venues_by_city(city_id)


_reference("venue", "venues", Venue, "Venue", (a.VenueIn, a.VenueUpdate, a.VenueOut),
           (svc.create_venue, svc.update_venue, svc.delete_venue),
           "409 ``venue_in_use`` while the venue has events.")


# -- game templates --------------------------------------------------------------------------


@blp.get("/game-templates")
@auth_required(*READ)
@blp.arguments(a.TemplateListArgs, location="query")
@blp.response(200, a.TemplatePage)
def list_templates(args):
    return svc.list_templates(
        args["page"], args["per_page"], args.get("category"), args.get("q")
    )


_reference("template", "game-templates", GameTemplate, "Game template",
           (a.TemplateIn, a.TemplateUpdate, a.TemplateOut),
           (svc.create_template, svc.update_template, svc.delete_template),
           "409 ``game_template_in_use`` while events use it (deactivate it instead).")


# -- events ----------------------------------------------------------------------------------


@blp.get("/events")
@auth_required(*READ)
@blp.arguments(a.EventListArgs, location="query")
@blp.response(200, EventPageSchema)
def list_events(args):
    page, per_page = args.pop("page"), args.pop("per_page")
    return event_lifecycle.admin_list_events(args, page, per_page)


@blp.get("/events/<int:event_id>")
@auth_required(*READ)
@blp.response(200, EventDetailSchema)
def get_event(event_id):
    """Any status, as the public detail shows it."""
    return _detail(event_id)


@blp.post("/events")
@auth_required(*WRITE)
@blp.arguments(a.EventIn)
@blp.response(201, EventDetailSchema)
def create_event(data):
    """Event with nested games, slots, add-ons and variants in one call."""
    event = event_admin.create_event(data, actor())
    return _detail(event.id)


@blp.put("/events/<int:event_id>")
@auth_required(*WRITE)
@blp.arguments(a.EventUpdate)
@blp.response(200, EventDetailSchema)
def update_event(data, event_id):
    """Incremental edit: rows with ``id`` change, rows without are added, ``_delete`` removes.

    A slot's capacity below its booked seats is 409 ``capacity_below_booked``; ``status`` moves
    the event (cancelling cancels and refunds its bookings through the queue).
    """
    event_admin.update_event(event_id, data, actor())
    return _detail(event_id)


@blp.post("/events/<int:event_id>/status")
@auth_required(*WRITE)
@blp.arguments(StatusIn)
@blp.response(200, EventDetailSchema)
def change_status(data, event_id):
    event_lifecycle.change_status(event_id, data["status"], actor())
    return _detail(event_id)


@blp.delete("/events/<int:event_id>")
@auth_required(*WRITE)
@blp.response(204)
def delete_event(event_id):
    """409 ``event_has_bookings`` when the event has (or had) bookings: cancel it instead."""
    event_lifecycle.delete_event(event_id, actor())


@blp.post("/events/clone/<int:event_id>")
@auth_required(*WRITE)
@blp.arguments(a.CloneIn)
@blp.response(201, EventDetailSchema)
def clone_event(data, event_id):
    """Copy games, slots, add-ons and FAQs to ``event_date`` as a draft (nothing sold copied)."""
    copy = event_lifecycle.clone_event(event_id, data["event_date"], actor(), data.get("title"))
    return _detail(copy.id)


# -- gallery and event FAQs ------------------------------------------------------------------


def _child_routes(kind: str, path: str, schema_in, schema_update, schema_out) -> None:
    def list_view(event_id):
        return svc.list_event_children(kind, event_id)

    def create_view(data, event_id):
        obj = svc.create_event_child(kind, event_id, data, actor())
        return obj

    def update_view(data, event_id, obj_id):
        obj = svc.update_event_child(kind, event_id, obj_id, data, actor())
        return obj

    def delete_view(event_id, obj_id):
        svc.delete_event_child(kind, event_id, obj_id, actor())

    for fn in (list_view, create_view, update_view, delete_view):
        fn.__name__ = f"{kind}_{fn.__name__}"
    base = f"/events/<int:event_id>/{path}"
    blp.route(base, methods=["GET"])(
        auth_required(*READ)(blp.response(200, schema_out(many=True))(list_view))
    )
    blp.route(base, methods=["POST"])(
        auth_required(*WRITE)(blp.arguments(schema_in)(blp.response(201, schema_out)(create_view)))
    )
    blp.route(f"{base}/<int:obj_id>", methods=["PUT"])(
        auth_required(*WRITE)(
            blp.arguments(schema_update)(blp.response(200, schema_out)(update_view))
        )
    )
    blp.route(f"{base}/<int:obj_id>", methods=["DELETE"])(
        auth_required(*WRITE)(blp.response(204)(delete_view))
    )


_child_routes("gallery", "gallery", a.GalleryIn, a.GalleryUpdate, a.GalleryOut)
_child_routes("faqs", "faqs", a.EventFaqIn, a.EventFaqUpdate, a.EventFaqOut)
