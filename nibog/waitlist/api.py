"""Waiting list: POST /api/waiting-list, DELETE /api/waiting-list/{id}, GET (own entries)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from nibog.booking.models import WAITLIST_STATUSES
from nibog.core.auth import auth_required, current_user
from nibog.core.pagination import PageArgsSchema, page_schema, paginate
from nibog.waitlist import entries as waitlist

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
    return waitlist.describe_entries(entries)


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
