"""Request and response shapes of the payments API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from nibog.core.pagination import page_schema


class CreatePaymentIn(Schema):
    booking_id = fields.Integer(required=True, validate=validate.Range(min=1))
    # Guest bookings (no account): the access code handed out with the booking.
    access_code = fields.String(load_default=None, validate=validate.Length(max=100))


class CreatePaymentOut(Schema):
    payment_id = fields.Integer()
    provider = fields.String()
    provider_order_id = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()
    checkout = fields.Dict()


class ConfirmPaymentIn(Schema):
    payment_id = fields.Integer(required=True, validate=validate.Range(min=1))
    # Required for Razorpay and the sandbox; PhonePe has none (the server asks its status API).
    provider_payment_id = fields.String(load_default=None, validate=validate.Length(max=100))
    signature = fields.String(load_default=None, validate=validate.Length(max=200))


class RefundIn(Schema):
    payment_id = fields.Integer(required=True, validate=validate.Range(min=1))
    amount = fields.Integer(strict=True, load_default=None, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class RefundOut(Schema):
    id = fields.Integer()
    payment_id = fields.Integer()
    amount = fields.Integer()
    status = fields.String()
    reason = fields.String()
    provider_refund_id = fields.String(allow_none=True)
    created_at = fields.String()
    processed_at = fields.String(allow_none=True)


class PaymentOut(Schema):
    id = fields.Integer()
    booking_id = fields.Integer()
    booking_number = fields.String()
    provider = fields.String()
    provider_order_id = fields.String()
    provider_payment_id = fields.String(allow_none=True)
    amount = fields.Integer()
    amount_refunded = fields.Integer()
    currency = fields.String()
    status = fields.String()
    method = fields.String(allow_none=True)
    failure_reason = fields.String(allow_none=True)
    captured_at = fields.String(allow_none=True)
    created_at = fields.String()
    booking_status = fields.String()
    refunds = fields.List(fields.Nested(RefundOut))


PaymentPage = page_schema(PaymentOut, "PaymentPage")


class MethodOut(Schema):
    code = fields.String()
    name = fields.String()


class MethodsOut(Schema):
    provider = fields.String()
    currency = fields.String()
    methods = fields.List(fields.Nested(MethodOut))


class WebhookOut(Schema):
    status = fields.String()
    event_id = fields.String()
    result = fields.String()
