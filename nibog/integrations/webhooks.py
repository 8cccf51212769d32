"""Partner webhooks: POST /webhooks/external/booking and /webhooks/external/update.

The signature is checked over the raw body before anything is parsed; the body is validated
only then, so an unsigned request learns nothing about the expected shape.
"""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from nibog.core.email_field import EmailAddress
from nibog.core.errors import ValidationFailed, json_object
from nibog.integrations import service

blp = Blueprint(
    "partner_webhooks",
    __name__,
    url_prefix="/webhooks/external",
    description="Partner bookings and updates (HMAC-SHA256 signed)",
)

SIGNING_DOC = {
    "parameters": [
        {"in": "header", "name": "X-Nibog-Partner", "required": True, "schema": {"type": "string"}},
        {
            "in": "header",
            "name": "X-Nibog-Signature",
            "required": True,
            "schema": {"type": "string"},
            "description": "hex HMAC-SHA256 of the raw body keyed with the partner's secret",
        },
        {
            "in": "header",
            "name": "X-Nibog-Event-Id",
            "required": True,
            "schema": {"type": "string"},
            "description": "delivery id; a repeat replays the first answer (Idempotency-Key also accepted)",
        },
    ]
}


class CustomerSchema(Schema):
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    email = EmailAddress(required=True)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))


class PartnerChildSchema(Schema):
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    date_of_birth = fields.Date(required=True)


class PartnerItemSchema(Schema):
    child_index = fields.Integer(required=True, validate=validate.Range(min=0))
    slot_id = fields.Integer(required=True)


class PartnerAddonSchema(Schema):
    addon_id = fields.Integer(required=True)
    variant_id = fields.Integer(load_default=None, allow_none=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=50))


class PartnerBookingSchema(Schema):
    external_ref = fields.String(required=True, validate=validate.Length(min=1, max=100))
    event_id = fields.Integer(required=True)
    customer = fields.Nested(CustomerSchema, required=True)
    children = fields.List(
        fields.Nested(PartnerChildSchema), required=True, validate=validate.Length(min=1, max=10)
    )
    items = fields.List(
        fields.Nested(PartnerItemSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    addons = fields.List(fields.Nested(PartnerAddonSchema), load_default=list)
    promo_code = fields.String(load_default=None, allow_none=True)
    paid = fields.Boolean(
        load_default=False,
        metadata={"description": "true when the partner collected the payment: confirmed at once"},
    )


class PartnerUpdateSchema(Schema):
    external_ref = fields.String(required=True, validate=validate.Length(min=1, max=100))
    action = fields.String(required=True, validate=validate.OneOf(("cancel", "confirm")))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


def _signed_payload(schema: Schema):
    raw = request.get_data(cache=True)
    partner = service.authenticate(
        request.headers.get("X-Nibog-Partner"), raw, request.headers.get("X-Nibog-Signature")
    )
    event_id = (
        request.headers.get("X-Nibog-Event-Id") or request.headers.get("Idempotency-Key") or ""
    ).strip()
    if not event_id or len(event_id) > 200:
        raise ValidationFailed(
            {"X-Nibog-Event-Id": ["A delivery id (1-200 characters) is required"]}
        )
    body = json_object(raw)
    try:
        data = schema.load(body)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages) from None
    return partner, event_id, body, data


def _run(event_type: str, schema: Schema, handler):
    partner, event_id, body, data = _signed_payload(schema)
    result, replayed = service.process_once(
        partner, event_id, event_type, body, lambda p, _raw: handler(p, data)
    )
    # Webhooks acknowledge with 200 whether first or repeated delivery (contract).
    # The same header name as a replayed booking answer (booking.idempotency).
    return result, 200, {"Idempotent-Replayed": "true" if replayed else "false"}


@blp.post("/booking")
@blp.doc(**SIGNING_DOC)
def partner_booking():
    """Create a booking for a partner's customer through the booking engine."""
    return _run("booking", PartnerBookingSchema(), service.create_partner_booking)


@blp.post("/update")
@blp.doc(**SIGNING_DOC)
def partner_update():
    """Cancel, or confirm once paid, a booking the partner made (by external_ref)."""
    return _run("update", PartnerUpdateSchema(), service.update_partner_booking)
