"""Admin bookings API, dashboard figures and check-in (``/api/admin``).

Role ``admin`` writes; ``staff`` may read and check in (contract). Every write is audited in the
same transaction as the change it describes.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as MmValidationError

from nibog.booking.admin import queries as admin_queries
from nibog.booking.admin import stats
from nibog.booking.admin.actions import complete_single, confirm_offline
from nibog.booking.admin.serialize import admin_booking_detail, admin_booking_dict
from nibog.booking.models import BOOKING_SOURCES, BOOKING_STATUSES, Booking, BookingItem
from nibog.booking.moves import move_item
from nibog.booking.schemas import BookingOut
from nibog.booking.service import cancel_booking as engine_cancel
from nibog.booking.service import create_booking as engine_create
from nibog.checkin import service as checkin
from nibog.core.audit import record, snapshot
from nibog.core.auth import auth_required, current_user
from nibog.core.client_ip import client_ip
from nibog.core.errors import AppError, NotFound
from nibog.core.pagination import PageArgsSchema, page_schema
from nibog.extensions import db

blp = Blueprint(
    "admin_bookings",
    __name__,
    url_prefix="/api/admin",
    description="Admin: bookings, stats, check-in",
)

READ = ("admin", "staff")


# ---------------------------------------------------------------- schemas


class AdminBookingListArgs(PageArgsSchema):
    q = fields.String(metadata={"description": "booking number, phone, email or name"})
    status = fields.String(validate=validate.OneOf(BOOKING_STATUSES))
    event_id = fields.Integer()
    user_id = fields.Integer()
    source = fields.String(validate=validate.OneOf(BOOKING_SOURCES))
    date_from = fields.Date(metadata={"description": "event date from (YYYY-MM-DD)"})
    date_to = fields.Date()


class AdminBookingSchema(BookingOut):
    """A booking as staff see it: its event, items and add-ons with every key the dashboard
    reads, and who booked it, how and when."""

    class Meta:
        unknown = "include"

    event = fields.Dict()
    items = fields.List(fields.Dict())
    addons = fields.List(fields.Dict())
    source = fields.String()
    payment_mode = fields.String()
    user = fields.Dict(allow_none=True)
    guest = fields.Dict(allow_none=True)
    partner_id = fields.Integer(allow_none=True)
    external_ref = fields.String(allow_none=True)
    confirmed_at = fields.String(allow_none=True)
    expired_at = fields.String(allow_none=True)
    completed_at = fields.String(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    payments = fields.List(fields.Dict(), metadata={"description": "detail view only"})


AdminBookingPage = page_schema(AdminBookingSchema, "AdminBookingPage")


class AdminItemInSchema(Schema):
    child_id = fields.Integer(required=True)
    slot_id = fields.Integer(required=True)


class AdminAddonInSchema(Schema):
    addon_id = fields.Integer(required=True)
    variant_id = fields.Integer(load_default=None, allow_none=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=50))


class AdminCreateSchema(Schema):
    user_id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    items = fields.List(
        fields.Nested(AdminItemInSchema), required=True, validate=validate.Length(min=1)
    )
    addons = fields.List(fields.Nested(AdminAddonInSchema), load_default=list)
    promo_code = fields.String(load_default=None, allow_none=True)
    payment_mode = fields.String(load_default="cash", validate=validate.OneOf(("cash", "online")))


class AdminMoveSchema(Schema):
    item_id = fields.Integer(required=True)
    slot_id = fields.Integer(required=True)


class AdminUpdateSchema(Schema):
    status = fields.String(validate=validate.OneOf(("confirmed", "cancelled", "completed")))
    reason = fields.String(validate=validate.Length(max=500))
    move = fields.Nested(AdminMoveSchema)

    @validates_schema
    def one_change(self, data, **kwargs):
        if not data.get("status") and not data.get("move"):
            raise MmValidationError("Send status or move", "status")
        if data.get("status") and data.get("move"):
            raise MmValidationError("Send either status or move, not both", "move")


class AdminCancelArgsSchema(Schema):
    reason = fields.String(load_default="cancelled by admin", validate=validate.Length(max=500))


class AdminCancelledSchema(Schema):
    booking = fields.Nested(AdminBookingSchema)
    refund = fields.Dict()


class AdminItemResultSchema(Schema):
    attendance = fields.String(validate=validate.OneOf(checkin.ATTENDANCE_VALUES))
    result_position = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=1000))
    slot_id = fields.Integer(metadata={"description": "move the item to this slot"})


class CheckInRequestSchema(Schema):
    qr_payload = fields.String(validate=validate.Length(max=2000))
    booking_number = fields.String(validate=validate.Length(max=20))
    item_id = fields.Integer()
    force = fields.Boolean(load_default=False)

    @validates_schema
    def one_key(self, data, **kwargs):
        if not data.get("qr_payload") and not data.get("booking_number"):
            raise MmValidationError("Send qr_payload or booking_number", "qr_payload")


class CheckInResultSchema(Schema):
    booking = fields.Nested(AdminBookingSchema)
    checked_in_item_ids = fields.List(fields.Integer())
    already_checked_in_item_ids = fields.List(fields.Integer())


class DashboardStatsSchema(Schema):
    class Meta:
        unknown = "include"

    bookings_today = fields.Integer()
    bookings_total = fields.Integer()
    bookings_pending = fields.Integer()
    bookings_cancelled = fields.Integer()
    bookings_expired = fields.Integer()
    revenue_today = fields.Integer()
    revenue_total = fields.Integer()
    currency = fields.String()
    seats_sold = fields.Integer()
    seats_held = fields.Integer()
    seats_total = fields.Integer()
    fill_rate = fields.Float(metadata={"description": "seats_sold / seats_total, percent"})
    upcoming_events = fields.Integer()
    as_of = fields.String()
    date = fields.String()


# ---------------------------------------------------------------- helpers


def _booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Booking")
    return booking


def _audit(action: str, booking: Booking, before: dict | None) -> None:
    db.session.flush()
    db.session.refresh(booking)
    record(action, booking, actor_id=current_user().id, before=before, client_ip=client_ip())


def _fresh(booking_id: int) -> dict:
    booking = db.session.get(Booking, booking_id)
    db.session.refresh(booking)
    return admin_booking_dict(booking)


# ---------------------------------------------------------------- bookings


@blp.get("/bookings")
@auth_required(*READ)
@blp.arguments(AdminBookingListArgs, location="query")
@blp.response(200, AdminBookingPage)
def list_bookings(args: dict):
    return admin_queries.search_bookings(args)


@blp.get("/bookings/<int:booking_id>")
@auth_required(*READ)
@blp.response(200, AdminBookingSchema)
def get_booking(booking_id: int):
    return admin_booking_detail(_booking(booking_id))


@blp.post("/bookings")
@auth_required("admin")
@blp.arguments(AdminCreateSchema)
@blp.response(201, AdminBookingSchema)
def create_booking(data: dict):
    admin_queries.require_parent(data["user_id"])
    booking = engine_create(
        user_id=data["user_id"],
        event_id=data["event_id"],
        items=data["items"],
        addons=data["addons"],
        promo_code=data["promo_code"],
        source="admin",
        created_by_id=current_user().id,
        payment_mode=data["payment_mode"],
    )
    _audit("booking.admin_create", booking, None)
    return _fresh(booking.id)


@blp.put("/bookings/<int:booking_id>")
@auth_required("admin")
@blp.arguments(AdminUpdateSchema)
@blp.response(200, AdminBookingSchema)
def update_booking(data: dict, booking_id: int):
    booking = _booking(booking_id)
    before = snapshot(booking)
    if data.get("move"):
        item = db.session.get(BookingItem, data["move"]["item_id"])
        item_before = snapshot(item) if item else None
        moved = move_item(booking_id, data["move"]["item_id"], data["move"]["slot_id"])
        record(
            "booking.move_item",
            moved,
            actor_id=current_user().id,
            before=item_before,
            client_ip=client_ip(),
        )
    elif data["status"] == "confirmed":
        confirm_offline(booking_id)
        _audit("booking.admin_confirm", booking, before)
    elif data["status"] == "completed":
        complete_single(booking_id)
        _audit("booking.admin_complete", booking, before)
    else:
        engine_cancel(
            booking_id,
            actor_id=current_user().id,
            reason=data.get("reason") or "cancelled by admin",
            by_admin=True,
        )
        _audit("booking.admin_cancel", booking, before)
    return _fresh(booking_id)


@blp.delete("/bookings/<int:booking_id>")
@auth_required("admin")
@blp.arguments(AdminCancelArgsSchema, location="query")
@blp.response(200, AdminCancelledSchema)
def cancel_booking(args: dict, booking_id: int):
    booking = _booking(booking_id)
    before = snapshot(booking)
    _, refund = engine_cancel(
        booking_id, actor_id=current_user().id, reason=args["reason"], by_admin=True
    )
    _audit("booking.admin_cancel", booking, before)
    return {"booking": _fresh(booking_id), "refund": {"amount": refund, "currency": "INR"}}


@blp.put("/bookings/<int:booking_id>/items/<int:item_id>")
@auth_required("admin")
@blp.arguments(AdminItemResultSchema)
@blp.response(200, AdminBookingSchema)
def update_item(data: dict, booking_id: int, item_id: int):
    if not data:
        raise AppError(
            "validation_error",
            "Nothing to change",
            422,
            {"attendance": ["Send attendance, result_position or slot_id"]},
        )
    item = db.session.get(BookingItem, item_id)
    before = snapshot(item) if item else None
    if "slot_id" in data:
        move_item(booking_id, item_id, data["slot_id"])
    if "attendance" in data or "result_position" in data:
        item = checkin.set_item_result(
            booking_id,
            item_id,
            attendance=data.get("attendance"),
            result_position=data.get("result_position"),
            clear_position="result_position" in data and data["result_position"] is None,
        )
    item = db.session.get(BookingItem, item_id)
    record(
        "booking_item.update",
        item,
        actor_id=current_user().id,
        before=before,
        client_ip=client_ip(),
    )
    return _fresh(booking_id)


# ---------------------------------------------------------------- dashboard and check-in


@blp.get("/dashboard/stats")
@auth_required(*READ)
@blp.response(200, DashboardStatsSchema)
def dashboard_stats():
    return stats.dashboard_stats()


@blp.post("/check-in")
@auth_required(*READ)
@blp.arguments(CheckInRequestSchema)
@blp.response(200, CheckInResultSchema)
def check_in(data: dict):
    result = checkin.check_in(
        actor_id=current_user().id,
        qr_payload=data.get("qr_payload"),
        booking_number=data.get("booking_number"),
        item_id=data.get("item_id"),
        force=data["force"],
    )
    record(
        "booking.check_in",
        entity_type="bookings",
        entity_id=result.booking.id,
        actor_id=current_user().id,
        after={"item_ids": result.checked_in_item_ids, "force": data["force"]},
        client_ip=client_ip(),
    )
    return {
        "booking": admin_booking_dict(result.booking),
        "checked_in_item_ids": result.checked_in_item_ids,
        "already_checked_in_item_ids": result.already_checked_in_item_ids,
    }
