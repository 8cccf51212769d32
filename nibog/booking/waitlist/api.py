"""Waiting list: POST /api/waiting-list, DELETE /api/waiting-list/{id}, GET (own entries)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from nibog.accounts.models import Child
from nibog.booking.models import WAITLIST_STATUSES, Booking
from nibog.booking.waitlist import entries as waitlist
from nibog.catalog.models import Event, EventGame, GameSlot
from nibog.core.auth import auth_required, current_user
from nibog.core.pagination import PageArgsSchema, page_schema, paginate
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db

blp = Blueprint(
    "waiting_list", __name__, url_prefix="/api", description="Waiting list for full slots"
)


class WaitlistJoinSchema(Schema):
    slot_id = fields.Integer(required=True, validate=validate.Range(min=1))
    child_id = fields.Integer(required=True, validate=validate.Range(min=1))


class WaitlistListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(WAITLIST_STATUSES))


class WaitlistJoinedSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    status = fields.String()


class WaitlistEntrySchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "waiting, offered, booked, expired, cancelled"})
    position = fields.Integer(
        allow_none=True, metadata={"description": "1 = next; only while waiting"}
    )
    child = fields.Dict()
    slot = fields.Dict()
    event = fields.Dict()
    offered_booking = fields.Dict(allow_none=True)
    offered_at = fields.String(allow_none=True)
    offer_expires_at = fields.String(allow_none=True)
    created_at = fields.String()
    closed_reason = fields.String(
        allow_none=True,
        metadata={"description": "why the list passed over this entry, e.g. child_not_eligible"},
    )


WaitlistEntryPage = page_schema(WaitlistEntrySchema, "WaitlistEntryPage")


def _entries_out(entries) -> list[dict]:
    ranks = waitlist.positions(entries)
    reasons = waitlist.skip_reasons(entries)
    out = []
    for entry in entries:
        child = db.session.get(Child, entry.child_id)
        slot = db.session.get(GameSlot, entry.slot_id)
        event_game = db.session.get(EventGame, slot.event_game_id)
        event = db.session.get(Event, event_game.event_id)
        booking = (
            db.session.get(Booking, entry.offered_booking_id) if entry.offered_booking_id else None
        )
        out.append(
            {
                "id": entry.id,
                "status": entry.status,
                "position": ranks.get(entry.id),
                "child": {"id": child.id, "full_name": child.full_name},
                "slot": {
                    "id": slot.id,
                    "game_name": event_game.template.name,
                    "start_time": slot.start_time.strftime("%H:%M"),
                    "end_time": slot.end_time.strftime("%H:%M"),
                },
                "event": {
                    "id": event.id,
                    "title": event.title,
                    "event_date": event.event_date.isoformat(),
                },
                "offered_booking": (
                    {
                        "id": booking.id,
                        "booking_number": booking.booking_number,
                        "status": booking.status,
                        "total": booking.total,
                        "hold_expires_at": isoformat_ist(booking.hold_expires_at),
                    }
                    if booking
                    else None
                ),
                "offered_at": isoformat_ist(entry.offered_at),
                "offer_expires_at": isoformat_ist(entry.offer_expires_at),
                "created_at": isoformat_ist(entry.created_at),
                "closed_reason": reasons.get(entry.id),
            }
        )
    return out


@blp.post("/waiting-list")
@auth_required()
@blp.arguments(WaitlistJoinSchema)
@blp.response(201, WaitlistJoinedSchema)
def join(data: dict):
    entry = waitlist.join(current_user().id, data["slot_id"], data["child_id"])
    return {
        "id": entry.id,
        "position": waitlist.positions([entry])[entry.id],
        "status": entry.status,
    }


def _list(args: dict) -> dict:
    stmt = waitlist.entries_for_user(current_user().id, args.get("status"))
    page = paginate(stmt, args["page"], args["per_page"], transform=_entries_out)
    # Listing settles offers that were paid or lapsed; keep that.
    return page


@blp.get("/waiting-list")
@auth_required()
@blp.arguments(WaitlistListArgsSchema, location="query")
@blp.response(200, WaitlistEntryPage)
def list_entries(args: dict):
    return _list(args)


@blp.get("/users/me/waiting-list")
@auth_required()
@blp.arguments(WaitlistListArgsSchema, location="query")
@blp.response(200, WaitlistEntryPage)
def list_my_entries(args: dict):
    return _list(args)


@blp.get("/waiting-list/<int:entry_id>")
@auth_required()
@blp.response(200, WaitlistEntrySchema)
def get_entry(entry_id: int):
    result = _entries_out([waitlist.entry_for_user(current_user().id, entry_id)])[0]
    return result


@blp.delete("/waiting-list/<int:entry_id>")
@auth_required()
@blp.response(204)
def leave(entry_id: int):
    user = current_user()
    waitlist.leave(user.id, entry_id)
    return ""
