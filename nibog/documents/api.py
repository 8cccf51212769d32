"""Tickets and certificates of a booking: GET /api/bookings/{id}/ticket,
GET /api/bookings/{id}/certificate?child_id=, POST /api/bookings/{id}/certificate/email."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from nibog.core.auth import auth_required, current_user, verify_request_token
from nibog.core.client_ip import client_ip
from nibog.documents import downloads, service
from nibog.extensions import limiter

blp = Blueprint(
    "booking_documents",
    __name__,
    url_prefix="/api/bookings",
    description="Booking documents: ticket and certificates",
)


class CertificateArgsSchema(Schema):
    child_id = fields.Integer(
        load_default=None, metadata={"description": "required when the booking has several children"}
    )


class CertificateEmailSchema(Schema):
    child_id = fields.Integer(load_default=None, allow_none=True)


class TicketItemSchema(Schema):
    id = fields.Integer()
    child_id = fields.Integer()
    child_name = fields.String()
    game_name = fields.String()
    start_time = fields.String()
    end_time = fields.String()


class TicketSchema(Schema):
    booking_id = fields.Integer()
    booking_number = fields.String()
    status = fields.String()
    qr_payload = fields.String(metadata={"description": "signed; check-in verifies it offline"})
    event = fields.Dict()
    items = fields.List(fields.Nested(TicketItemSchema))
    addons = fields.List(fields.Dict())


class CertificateEmailResultSchema(Schema):
    queued = fields.Boolean()
    status = fields.String()
    email = fields.String()
    child_ids = fields.List(fields.Integer())


def _user_key() -> str:
    # Per account: a parent asking again and again must not turn us into a mail cannon. The
    # limiter runs before the view, so the token is read here (a bad one falls back to the IP).
    try:
        verify_request_token(optional=True)
        user = current_user(optional=True)
    except Exception:  # noqa: BLE001 - the view answers 401 properly
        user = None
    return f"user:{user.id}" if user is not None else f"ip:{client_ip()}"


@blp.route("/<int:booking_id>/ticket", methods=["GET"])
@auth_required()
@blp.response(200, TicketSchema, description="application/pdf, or this JSON with Accept: application/json")
@blp.alt_response(200, description="The ticket PDF", content_type="application/pdf", success=True)
def ticket(booking_id: int):
    user = current_user()
    wanted = request.accept_mimetypes.best_match(["application/pdf", "application/json"])
    if wanted == "application/json":
        return service.ticket_json(booking_id, user)
    return downloads.send(service.ticket_download(booking_id, user))


@blp.route("/<int:booking_id>/certificate", methods=["GET"])
@auth_required()
@blp.arguments(CertificateArgsSchema, location="query")
@blp.alt_response(200, description="The certificate PDF", content_type="application/pdf", success=True)
def certificate(args, booking_id: int):
    download = service.certificate_download(booking_id, current_user(), args["child_id"])
    return downloads.send(download)


@blp.route("/<int:booking_id>/certificate/email", methods=["POST"])
@limiter.limit("10 per hour", key_func=_user_key)
@auth_required()
@blp.arguments(CertificateEmailSchema)
@blp.response(202, CertificateEmailResultSchema)
def email_certificate(args, booking_id: int):
    result = service.email_certificate(booking_id, current_user(), args.get("child_id"))
    return result
