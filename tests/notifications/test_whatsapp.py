"""WhatsApp Cloud API: approved templates with parameters, a configurable Graph version, status
webhooks signed with X-Hub-Signature-256, and STOP / START honoured. Bodies follow Meta's
published examples (developers.facebook.com, "Send template messages", "Webhooks: status
messages"); nothing leaves the machine (``responses``)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import responses
from sqlalchemy import select

from nibog.core import boundary
from nibog.extensions import db
from nibog.notifications.models import NotificationLog, WhatsAppOptOut
from nibog.notifications.service import queue_whatsapp
from tests.documents.helpers import make_booking
from tests.helpers import error_code

SECRET = "meta-app-secret"
PHONE = "+919876500002"


@pytest.fixture
def meta(app, monkeypatch):
    for key, value in {
        "WHATSAPP_BACKEND": "meta", "WHATSAPP_TOKEN": "EAAG-test", "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "WHATSAPP_GRAPH_VERSION": "v24.0", "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "verify-me", "WHATSAPP_TEMPLATE_BOOKING_CONFIRMED": "nibog_booking_ok",
        "WHATSAPP_TEMPLATE_LANGUAGE": "en_GB",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.send = rsps.post(
            "https://graph.facebook.com/v24.0/106540352242922/messages",
            json={"messaging_product": "whatsapp",
                  "contacts": [{"input": "919876500002", "wa_id": "919876500002"}],
                  "messages": [{"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
                                "message_status": "accepted"}]},
        )
        yield rsps


def _log(entry_id) -> NotificationLog:
    db.session.expire_all()
    return db.session.get(NotificationLog, entry_id)


def test_a_confirmation_is_an_approved_template_with_parameters(app, meta):
    booking, info = make_booking(title="Pune Games")
    entry = queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id},
                           booking_id=booking.id, user_id=info["user"].id)
    boundary.commit()
    request = meta.send.calls[0].request
    assert request.headers["Authorization"] == "Bearer EAAG-test"
    body = json.loads(request.body)
    assert body["to"] == "919876500002" and body["type"] == "template"
    template = body["template"]
    assert (template["name"], template["language"]) == ("nibog_booking_ok", {"code": "en_GB"})
    [component] = template["components"]
    values = [p["text"] for p in component["parameters"]]
    assert component["type"] == "body" and all(p["type"] == "text" for p in component["parameters"])
    assert values[1:3] == [booking.booking_number, "Pune Games"]
    assert values[4].endswith(f"/account/bookings/{booking.id}")
    logged = _log(entry.id)
    assert logged.status == "sent" and logged.provider_message_id.startswith("wamid.")


def test_the_graph_version_is_configurable(app, meta, monkeypatch):
    monkeypatch.setitem(app.config, "WHATSAPP_GRAPH_VERSION", "v25.0")
    call = meta.post("https://graph.facebook.com/v25.0/106540352242922/messages",
                     json={"messages": [{"id": "wamid.v25"}]})
    booking, _ = make_booking()
    queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id}, booking_id=booking.id)
    boundary.commit()
    assert call.call_count == 1


def test_a_type_without_a_template_goes_as_text(app, meta, monkeypatch):
    monkeypatch.setitem(app.config, "WHATSAPP_TEMPLATE_BOOKING_CONFIRMED", "")
    booking, _ = make_booking()
    queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id}, booking_id=booking.id)
    boundary.commit()
    body = json.loads(meta.send.calls[0].request.body)
    assert body["type"] == "text" and booking.booking_number in body["text"]["body"]


def test_outside_the_window_meta_refuses_text_and_the_message_fails(app, meta, monkeypatch):
    monkeypatch.setitem(app.config, "WHATSAPP_TEMPLATE_BOOKING_CONFIRMED", "")
    meta.replace(responses.POST, "https://graph.facebook.com/v24.0/106540352242922/messages",
                 status=400, json={"error": {
                     "message": "(#131047) Re-engagement message", "type": "OAuthException",
                     "code": 131047, "error_data": {"messaging_product": "whatsapp",
                     "details": "Message failed to send because more than 24 hours have passed"},
                 }})
    booking, _ = make_booking()
    entry = queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id},
                           booking_id=booking.id)
    boundary.commit()
    logged = _log(entry.id)
    assert logged.status == "failed" and "131047" in logged.error


def _signed_post(client, body: dict, secret: str = SECRET):
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post("/webhooks/whatsapp", data=raw,
                       headers={"X-Hub-Signature-256": signature,
                                "Content-Type": "application/json"})


def _status_event(message_id: str, status: str, errors=None) -> dict:
    entry = {"id": message_id, "status": status, "timestamp": "1733330000",
             "recipient_id": "919876500002"}
    if status != "failed":
        entry["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "utility"}}
        entry["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
    if errors:
        entry["errors"] = errors
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA_ID", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881",
                         "phone_number_id": "106540352242922"},
            "statuses": [entry]}}]}]}


def test_status_webhooks_update_the_log_once_signed(app, client, meta):
    booking, _ = make_booking()
    entry = queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id},
                           booking_id=booking.id)
    boundary.commit()
    wamid = _log(entry.id).provider_message_id

    forged = _signed_post(client, _status_event(wamid, "delivered"), secret="guess")
    assert forged.status_code == 401 and error_code(forged) == "invalid_signature"
    assert _log(entry.id).status == "sent"

    assert _signed_post(client, _status_event(wamid, "sent")).status_code == 200
    assert _log(entry.id).status == "sent"
    resp = _signed_post(client, _status_event(wamid, "delivered"))
    assert resp.status_code == 200 and resp.get_json()["statuses"] == 1
    logged = _log(entry.id)
    assert logged.status == "delivered" and logged.delivered_at is not None
    assert _signed_post(client, _status_event(wamid, "read")).status_code == 200
    assert _log(entry.id).status == "delivered"


def test_a_failed_status_records_metas_reason(app, client, meta):
    booking, _ = make_booking()
    entry = queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id},
                           booking_id=booking.id)
    boundary.commit()
    wamid = _log(entry.id).provider_message_id
    errors = [{"code": 131026, "title": "Message undeliverable",
               "message": "Message undeliverable",
               "error_data": {"details": "Receiver is incapable of receiving this message"}}]
    _signed_post(client, _status_event(wamid, "failed", errors))
    logged = _log(entry.id)
    assert logged.status == "failed" and "131026" in logged.error


def _inbound(text: str, sender: str = "919876500002") -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA_ID", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881",
                         "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Priya"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": f"wamid.in-{text}", "timestamp": "1733330100",
                          "type": "text", "text": {"body": text}}]}}]}]}


def _tapped(message: dict, sender: str = "919876500002") -> dict:
    """An inbound button tap as Meta posts it ("Webhooks: messages" - a template's quick-reply
    button is ``type: button``; an interactive reply button is ``button_reply``)."""
    body = _inbound("x", sender)
    [inbound] = body["entry"][0]["changes"][0]["value"]["messages"]
    del inbound["text"]
    inbound.update(context={"from": "15550783881", "id": "wamid.sent-template"}, **message)
    return body


@pytest.mark.parametrize("tap", [
    {"type": "button", "button": {"text": "Stop promotions", "payload": "Stop promotions"}},
    {"type": "button", "button": {"text": "No more messages", "payload": "STOP"}},
    {"type": "interactive", "interactive": {
        "type": "button_reply", "button_reply": {"id": "unsubscribe", "title": "Unsubscribe"}}},
], ids=["meta-marketing-opt-out", "our-payload", "interactive-reply"])
def test_an_opt_out_button_is_honoured(app, client, meta, tap):
    resp = _signed_post(client, _tapped(tap))
    assert resp.status_code == 200 and resp.get_json()["opted_out"] == 1
    booking, _ = make_booking()
    held = queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id},
                          booking_id=booking.id)
    boundary.commit()
    assert held.status == "suppressed" and meta.send.call_count == 0


def test_another_button_changes_nothing(app, client, meta):
    tap = {"type": "button", "button": {"text": "See my booking", "payload": "OPEN_BOOKING"}}
    assert _signed_post(client, _tapped(tap)).get_json()["opted_out"] == 0
    assert db.session.scalar(select(WhatsAppOptOut.phone)) is None


def test_stop_is_honoured_until_start(app, client, meta):
    assert _signed_post(client, _inbound(" stop ")).get_json()["opted_out"] == 1
    assert db.session.scalar(select(WhatsAppOptOut.phone)) == "919876500002"
    booking, _ = make_booking()
    held = queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id},
                          booking_id=booking.id)
    boundary.commit()
    assert held.status == "suppressed" and held.error == "opted out of WhatsApp"
    assert meta.send.call_count == 0
    # Email and SMS are other channels: unaffected (the parent stopped WhatsApp only).

    assert _signed_post(client, _inbound("START")).get_json()["opted_in"] == 1
    sent = queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id},
                          booking_id=booking.id)
    boundary.commit()
    assert _log(sent.id).status == "sent" and meta.send.call_count == 1


def test_an_opt_out_after_queueing_is_checked_again_at_send_time(app, meta):
    from nibog.notifications.service import opt_out_whatsapp
    from nibog.notifications.tasks import deliver

    booking, _ = make_booking()
    row = NotificationLog(channel="whatsapp", template="booking_confirmed", recipient=PHONE,
                          booking_id=booking.id, status="queued")
    db.session.add(row)
    opt_out_whatsapp("919876500002")
    boundary.commit()
    deliver(row.id, {"booking_id": booking.id})
    assert _log(row.id).status == "suppressed" and meta.send.call_count == 0


def test_webhook_registration_handshake(app, client, meta):
    ok = client.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me"
                    "&hub.challenge=1158201444")
    assert ok.status_code == 200 and ok.data == b"1158201444"
    bad = client.get("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope"
                     "&hub.challenge=1158201444")
    assert bad.status_code == 403


def test_with_whatsapp_notify_on_reminders_go_on_whatsapp_too(app, meta, monkeypatch):
    from datetime import timedelta

    from nibog.core.timeutil import today_ist
    from nibog.notifications.tasks import send_event_reminders

    monkeypatch.setitem(app.config, "WHATSAPP_NOTIFY", True)
    monkeypatch.setitem(app.config, "WHATSAPP_TEMPLATE_EVENT_REMINDER", "nibog_reminder")
    booking, info = make_booking(event_date=today_ist() + timedelta(days=1), title="Kochi Games")
    assert send_event_reminders() == 1
    channels = set(db.session.scalars(select(NotificationLog.channel).where(
        NotificationLog.booking_id == booking.id, NotificationLog.template == "event_reminder")))
    assert "whatsapp" in channels
    body = json.loads(meta.send.calls[-1].request.body)
    assert body["template"]["name"] == "nibog_reminder"
    assert "Kochi Games" in [p["text"] for p in body["template"]["components"][0]["parameters"]]


# Meta retries a status webhook until it is answered 2xx and does not keep their order: each
# sequence below answers 2xx throughout and leaves the log where the strongest final word put it.
@pytest.mark.parametrize("sequence, final", [
    (["delivered", "delivered"], "delivered"),          # a duplicate delivery
    (["delivered", "sent"], "delivered"),               # "sent" arriving after "delivered"
    (["read", "delivered", "sent"], "delivered"),       # read first: read implies delivered
    (["failed", "delivered"], "failed"),                # a late "delivered" after the failure
    (["failed", "failed"], "failed"),                   # a duplicate failure
])
def test_duplicate_and_out_of_order_statuses(app, client, meta, sequence, final):
    booking, _ = make_booking()
    entry = queue_whatsapp("booking_confirmed", PHONE, {"booking_id": booking.id},
                           booking_id=booking.id)
    boundary.commit()
    wamid = _log(entry.id).provider_message_id
    errors = [{"code": 131026, "title": "Message undeliverable"}]
    first_delivered_at = None
    for status in sequence:
        resp = _signed_post(client, _status_event(wamid, status,
                                                  errors if status == "failed" else None))
        assert resp.status_code == 200
        logged = _log(entry.id)
        if logged.delivered_at is not None and first_delivered_at is None:
            first_delivered_at = logged.delivered_at
    logged = _log(entry.id)
    assert logged.status == final
    # The first delivery's time stands: a repeat or a late status does not move it.
    assert logged.delivered_at == first_delivered_at
    if final == "failed":
        assert logged.delivered_at is None and "131026" in logged.error


def test_with_whatsapp_notify_on_certificates_go_as_their_template(app, meta, monkeypatch):
    from datetime import timedelta

    from nibog.core.timeutil import today_ist
    from nibog.documents.tasks import generate_event_certificates

    monkeypatch.setitem(app.config, "WHATSAPP_NOTIFY", True)
    monkeypatch.setitem(app.config, "WHATSAPP_TEMPLATE_CERTIFICATE_READY", "nibog_certificates")
    booking, info = make_booking(event_date=today_ist() - timedelta(days=1), title="Goa Games")
    info["event"].status = "completed"
    boundary.commit()

    assert generate_event_certificates(info["event"].id) == 1
    [entry] = db.session.scalars(select(NotificationLog).where(
        NotificationLog.booking_id == booking.id, NotificationLog.channel == "whatsapp",
        NotificationLog.template == "certificate_ready"))
    assert entry.status == "sent" and entry.provider_message_id.startswith("wamid.")
    assert entry.recipient.endswith(info["user"].phone[-10:])
    body = json.loads(meta.send.calls[-1].request.body)
    assert body["type"] == "template"
    template = body["template"]
    assert (template["name"], template["language"]) == ("nibog_certificates", {"code": "en_GB"})
    values = [p["text"] for p in template["components"][0]["parameters"]]
    # full_name, event title, booking link: the order the registered template numbers them.
    assert values[0] == info["user"].full_name
    assert values[1] == "Goa Games"
    assert values[2].endswith(f"/account/bookings/{booking.id}")
    # A second run generates nothing new and sends nothing again.
    sends = meta.send.call_count
    assert generate_event_certificates(info["event"].id) == 0
    assert meta.send.call_count == sends
