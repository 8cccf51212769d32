"""Provider delivery receipts: POST /webhooks/email/delivery, /webhooks/email/bounce and
/webhooks/sms/delivery, Twilio's own status callback, POST /webhooks/twilio/sms-status,
Exotel's, POST /webhooks/exotel/sms-status/<token>,
Amazon SES notifications through SNS, POST /webhooks/ses (``notifications.ses``), and the
WhatsApp Cloud API webhook, GET/POST /webhooks/whatsapp (``notifications.whatsapp_events``).

Signed like every non-payment webhook: ``X-Nibog-Signature`` = hex HMAC-SHA256 of the raw body
keyed with ``NOTIFY_WEBHOOK_SECRET`` (checked before the body is parsed). The event id is the signed
body's ``event_id`` (required); a replay answers 200 and changes nothing.
"""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from nibog.core.errors import AppError, ValidationFailed, json_object
from nibog.notifications import receipts, ses, whatsapp_events

blp = Blueprint(
    "notification_webhooks",
    __name__,
    url_prefix="/webhooks",
    description="Email and SMS delivery receipts (HMAC-SHA256 signed)",
)


class ReceiptSchema(Schema):
    event_id = fields.String(metadata={"description": "unique per delivery of this event"})
    notification_id = fields.Integer(metadata={"description": "our id (X-Nibog-Notification)"})
    message_id = fields.String(metadata={"description": "the provider's message id"})
    status = fields.String(metadata={"description": "delivered | failed | undelivered | ..."})
    email = fields.String(metadata={"description": "bounce: the address that bounced"})
    type = fields.String(metadata={"description": "bounce: hard (default) or soft"})
    reason = fields.String()


class ReceiptResultSchema(Schema):
    received = fields.Boolean()
    duplicate = fields.Boolean()
    notification_id = fields.Integer(allow_none=True)
    status = fields.String(allow_none=True)


DOC = {
    "parameters": [
        {
            "in": "header",
            "name": "X-Nibog-Signature",
            "required": True,
            "schema": {"type": "string"},
            "description": "hex HMAC-SHA256 of the raw body keyed with NOTIFY_WEBHOOK_SECRET",
        }
    ],
    "requestBody": {"content": {"application/json": {"schema": ReceiptSchema}}},
}


def _handle(kind: str):
    raw = request.get_data(cache=True)
    receipts.verify_signature(raw, request.headers.get("X-Nibog-Signature"))
    body = json_object(raw)
    # From the signed body only: an id from a header outside the signature would let a
    # captured receipt be replayed for ever under new ids.
    event_id = str(body.get("event_id") or "").strip()
    if not event_id or len(event_id) > 200:
        raise ValidationFailed({"event_id": ["An event id (1-200 characters) is required"]})
    if kind == "email_bounce" and not (body.get("email") or body.get("notification_id")
                                       or body.get("message_id")):
        raise ValidationFailed({"email": ["Say which address or message bounced"]})
    result = receipts.record_receipt(kind, event_id, body)
    return result


@blp.route("/email/delivery", methods=["POST"])
@blp.doc(**DOC)
@blp.response(200, ReceiptResultSchema)
def email_delivery():
    return _handle("email_delivery")


@blp.route("/email/bounce", methods=["POST"])
@blp.doc(**DOC)
@blp.response(200, ReceiptResultSchema)
def email_bounce():
    return _handle("email_bounce")


@blp.route("/sms/delivery", methods=["POST"])
@blp.doc(**DOC)
@blp.response(200, ReceiptResultSchema)
def sms_delivery():
    return _handle("sms_delivery")


TWILIO_DOC = {
    "summary": "Twilio's SMS status callback (its own form fields and signature)",
    "description": (
        "Form-encoded as Twilio sends it (MessageSid, MessageStatus, ErrorCode, ...), signed with "
        "X-Twilio-Signature over TWILIO_STATUS_CALLBACK (the URL Twilio was given) and keyed with "
        "TWILIO_AUTH_TOKEN. One event per message and status, so Twilio's retries change nothing."
    ),
    "parameters": [{"in": "header", "name": "X-Twilio-Signature", "required": True,
                    "schema": {"type": "string"}}],
}


@blp.route("/twilio/sms-status", methods=["POST"])
@blp.doc(**TWILIO_DOC)
@blp.response(200, ReceiptResultSchema)
def twilio_sms_status():
    params = list(request.form.items(multi=True))
    url = current_app.config.get("TWILIO_STATUS_CALLBACK") or request.url
    receipts.verify_twilio_signature(url, params, request.headers.get("X-Twilio-Signature"))
    sid = request.form.get("MessageSid", "").strip()
    status = request.form.get("MessageStatus", "").strip().lower()
    if not sid or not status:
        raise ValidationFailed({"MessageSid": ["MessageSid and MessageStatus are required"]})
    error = " ".join(
        part for part in (request.form.get("ErrorCode"), request.form.get("ErrorMessage")) if part
    )
    payload = {"message_id": sid, "status": status}
    if error:
        payload["reason"] = f"twilio {error}"
    result = receipts.record_receipt("sms_delivery", f"{sid}:{status}", payload)
    return result


EXOTEL_DOC = {
    "summary": "Exotel's SMS status callback (its own form fields; a secret in the URL)",
    "description": (
        "Form-encoded as Exotel sends it (SmsSid, Status, DetailedStatus, DetailedStatusCode, "
        "...). Exotel signs nothing, so the URL it was given (EXOTEL_STATUS_CALLBACK) ends with "
        "EXOTEL_CALLBACK_TOKEN; any other token is 401. One event per message and status, so "
        "Exotel's retries change nothing."
    ),
}


@blp.route("/exotel/sms-status/<token>", methods=["POST"])
@blp.doc(**EXOTEL_DOC)
@blp.response(200, ReceiptResultSchema)
def exotel_sms_status(token: str):
    receipts.verify_exotel_token(token)
    sid = request.form.get("SmsSid", "").strip()
    raw_status = request.form.get("Status", "").strip()
    if not sid or not raw_status:
        raise ValidationFailed({"SmsSid": ["SmsSid and Status are required"]})
    code = request.form.get("DetailedStatusCode", "")
    status = receipts.exotel_status(raw_status, code)
    payload = {"message_id": sid, "status": status}
    detail = " ".join(part for part in (code.strip(), request.form.get("DetailedStatus", "").strip())
                      if part)
    if status == "failed":
        payload["reason"] = f"exotel {raw_status.lower()} {detail}".strip()
    return receipts.record_receipt("sms_delivery", f"exotel:{sid}:{status}", payload)


SES_DOC = {
    "summary": "Amazon SES bounce, complaint and delivery notifications, as SNS posts them",
    "description": (
        "The SNS message as posted (JSON, usually sent as text/plain), signed by SNS; accepted "
        "only for the topics in SES_SNS_TOPIC_ARNS. A SubscriptionConfirmation is confirmed. "
        "Permanent bounces and complaints stop e-mail to the address."
    ),
}


@blp.route("/ses", methods=["POST"])
@blp.doc(**SES_DOC)
def ses_notification():
    message = json_object(request.get_data(cache=True))
    if not message.get("MessageId"):
        raise AppError("bad_request", "Not an SNS message", 400)
    ses.verify(message)
    result = ses.handle(message)
    return result


WHATSAPP_DOC = {
    "summary": "WhatsApp Cloud API webhook: message statuses, STOP / START from parents",
    "description": (
        "As Meta posts it, signed with X-Hub-Signature-256 (HMAC-SHA256 of the raw body keyed "
        "with WHATSAPP_APP_SECRET). GET is Meta's registration handshake (hub.verify_token must "
        "equal WHATSAPP_VERIFY_TOKEN)."
    ),
}


@blp.route("/whatsapp", methods=["GET"])
@blp.doc(**WHATSAPP_DOC)
def whatsapp_subscribe():
    challenge = whatsapp_events.verify_subscription(
        request.args.get("hub.mode"), request.args.get("hub.verify_token"),
        request.args.get("hub.challenge"),
    )
    return current_app.response_class(challenge, mimetype="text/plain")


@blp.route("/whatsapp", methods=["POST"])
@blp.doc(**WHATSAPP_DOC)
def whatsapp_events_webhook():
    raw = request.get_data(cache=True)
    whatsapp_events.verify_signature(raw, request.headers.get("X-Hub-Signature-256"))
    return whatsapp_events.handle(json_object(raw))
