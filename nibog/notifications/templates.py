"""Message templates: subjects, rendering, what is marketing, and what gets attached.

Email bodies live in ``templates/email/<name>.txt`` and ``.html``; SMS and WhatsApp text in
``templates/sms/<name>.txt``. The context the caller queued (plain JSON values) is completed at send
time with fresh data: the booking as it is now, links, the brand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateNotFound

from nibog.accounts.models import User
from nibog.booking.access import guest_link_token
from nibog.booking.models import Booking
from nibog.core import i18n
from nibog.core.i18n import languages
from nibog.documents.booking_view import load_booking_view
from nibog.documents.certificates import (
    certificate_filename,
    certificate_for,
    eligible_children,
)
from nibog.documents.tickets import render_ticket_pdf
from nibog.extensions import db
from nibog.notifications.channels import Attachment, TemplateMessage

# Jinja text, translated (lazy: rendered in the recipient's language, ``message_language``).
SUBJECTS: dict[str, str] = {
    "welcome": _l("Welcome to NIBOG, {{ full_name or _('there') }}!"),
    "verify_email": _l("Confirm your email address"),
    "password_reset": _l("Reset your NIBOG password"),
    "login_otp": _l("Your NIBOG sign-in code"),
    "phone_verify_otp": _l("Your NIBOG verification code"),
    "booking_held": _l("Complete your payment for booking {{ booking.booking_number }}"),
    "booking_confirmed": _l(
        "Booking confirmed: {{ booking.booking_number }} - {{ booking.event.title }}"),
    "booking_cancelled": _l("Booking {{ booking.booking_number }} cancelled"),
    "refund_processed": _l("Your refund for booking {{ booking.booking_number }}"),
    "late_payment_refunded": _l("Payment refunded: booking {{ booking.booking_number }}"),
    "waitlist_offer": _l("A seat opened up for {{ child_name or _('your child') }}!"),
    "event_reminder": _l("See you tomorrow at {{ booking.event.title }}"),
    "certificate_ready": _l("Certificates for {{ booking.event.title }}"),
    "contact_message": "Contact form: {{ name }}",
    "event_announcement": _l("New NIBOG event: {{ event_title }}"),
}
# Messages to the NIBOG team: always in the site's first language, whoever wrote in.
STAFF_TEMPLATES = frozenset({"contact_message"})


def message_language(template: str, context: dict[str, Any], user_id: int | None) -> str:
    """The language a message is written in: the account's (``User.language``), else the one
    the guest was reading when it was queued (``context["language"]``), else the site's first."""
    default = languages()[0]
    if template in STAFF_TEMPLATES:
        return default
    language = None
    if user_id:
        user = db.session.get(User, user_id)
        language = user.language if user is not None else None
    language = language or (context or {}).get("language")
    return language if language in languages() else default


def _deadline(iso: str, language: str) -> str:
    # A message may be read outside India: the zone is named.
    return f"{i18n.when(datetime.fromisoformat(iso), language)} IST"


def _booking_links(base: str, booking_id: int) -> dict[str, str]:
    """Where a message sends its reader for this booking. A guest has no account page and no
    session in the browser the mail opens in: their links carry a signed stamp that opens the
    guest booking page (and the pay page) in any browser, like the access code would."""
    booking = db.session.get(Booking, booking_id)
    if booking.user_id is not None:
        return {"booking_url": f"{base}/account/bookings/{booking_id}",
                "pay_url": f"{base}/book/{booking_id}/pay"}
    token = guest_link_token(booking)
    if token is None:  # no code to stand for (cleared): the lookup page says what to do
        return {"booking_url": f"{base}/bookings/lookup", "pay_url": f"{base}/bookings/lookup"}
    return {"booking_url": f"{base}/bookings/{booking_id}?code={token}",
            "pay_url": f"{base}/book/{booking_id}/pay?code={token}"}


def build_context(
    context: dict[str, Any], *, booking_id: int | None, user_id: int | None,
    language: str | None = None,
) -> dict[str, Any]:
    cfg = current_app.config
    base = cfg.get("PUBLIC_BASE_URL", "").rstrip("/")
    language = language or languages()[0]
    ctx: dict[str, Any] = {
        "brand": "NIBOG",
        "base_url": base,
        "support_email": cfg.get("STAFF_NOTIFY_EMAIL", ""),
        "language": language,
        "events_url": f"{base}/events",
        "account_url": f"{base}/account",
    }
    ctx.update(context or {})
    for key in ("amount", "refund_amount", "total"):
        if isinstance(ctx.get(key), int) and f"{key}_display" not in ctx:
            ctx[f"{key}_display"] = i18n.money(ctx[key], language)
    if isinstance(ctx.get("offer_expires_at"), str):
        try:
            ctx["offer_expires_at"] = _deadline(ctx["offer_expires_at"], language)
        except ValueError:
            pass  # queued before it was ISO: already written out
    if ctx.get("event_id") and not booking_id and not ctx.get("booking_id"):
        ctx.setdefault("event_url", f"{base}/events/{ctx['event_id']}")
    booking_id = booking_id or ctx.get("booking_id")
    if booking_id:
        booking = load_booking_view(int(booking_id))
        # Dates and money in the reader's language (the view itself is the PDFs' English).
        booking["event"]["date_display"] = i18n.day(booking["event"]["event_date"], language)
        booking["total_display"] = i18n.money(booking["total"], language)
        ctx["booking"] = booking
        ctx.setdefault("full_name", booking["parent_name"])
        ctx.update({k: v for k, v in _booking_links(base, int(booking_id)).items() if k not in ctx})
        ctx.setdefault("event_url", f"{base}/events/{booking['event']['id']}")
        if booking["hold_expires_at"]:
            ctx.setdefault("pay_deadline", _deadline(booking["hold_expires_at"], language))
    if user_id and "full_name" not in ctx:
        user = db.session.get(User, user_id)
        if user is not None:
            ctx["full_name"] = user.full_name
    return ctx


def render_email(template: str, ctx: dict[str, Any]) -> tuple[str, str, str | None]:
    with force_locale(ctx.get("language") or languages()[0]):
        # Subjects are plain text: no HTML escaping (render_template_string would turn ' into
        # &#39;).
        env = current_app.jinja_env.overlay(autoescape=False)
        source = str(SUBJECTS.get(template, "NIBOG"))
        subject = " ".join(env.from_string(source).render(**ctx).split())
        text = render_template(f"email/{template}.txt", **ctx)
        try:
            html = render_template(f"email/{template}.html", **ctx)
        except TemplateNotFound:
            html = None
    return subject, text, html


# Message types sent as approved WhatsApp templates: the setting naming the template, and the
# body parameters in the order the template numbers them ({{1}}, {{2}}, ...). Register the
# templates with exactly these parameters (docs/integrations.md).
WHATSAPP_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "booking_confirmed": (
        "WHATSAPP_TEMPLATE_BOOKING_CONFIRMED",
        ("full_name", "booking.booking_number", "booking.event.title", "booking.event.date_display",
         "booking_url"),
    ),
    "event_reminder": (
        "WHATSAPP_TEMPLATE_EVENT_REMINDER",
        ("full_name", "booking.event.title", "booking.venue.name", "booking.event.start_time"),
    ),
    "certificate_ready": (
        "WHATSAPP_TEMPLATE_CERTIFICATE_READY",
        ("full_name", "booking.event.title", "booking_url"),
    ),
}


def _lookup(ctx: dict[str, Any], path: str) -> str:
    value: Any = ctx
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    # Meta refuses an empty parameter: a missing value is a dash, not a failed message.
    return str(value) if value not in (None, "") else "-"


def whatsapp_template(template: str, ctx: dict[str, Any]):
    """The approved template this message type goes out as, or None (sent as text)."""
    spec = WHATSAPP_TEMPLATES.get(template)
    if spec is None:
        return None
    setting, params = spec
    name = current_app.config.get(setting)
    if not name:
        return None
    language = current_app.config.get("WHATSAPP_TEMPLATE_LANGUAGE") or "en"
    return TemplateMessage(name, language, [_lookup(ctx, p) for p in params])


def sms_template(template: str, ctx: dict[str, Any]):
    """The DLT template an Indian SMS of this type is registered as (``SMS_DLT_TEMPLATE_<TYPE>``),
    or None. Carriers drop an SMS whose text does not match its registered template, so the text
    rendered from ``templates/sms/`` must be the registered one with its variables filled."""
    template_id = current_app.config.get(f"SMS_DLT_TEMPLATE_{template.upper()}")
    return TemplateMessage(template_id) if template_id else None


def render_short_text(template: str, ctx: dict[str, Any]) -> str:
    with force_locale(ctx.get("language") or languages()[0]):
        return render_template(f"sms/{template}.txt", **ctx).strip()


def attachments_for(template: str, ctx: dict[str, Any]) -> list[Attachment]:
    booking = ctx.get("booking")
    if template == "booking_confirmed" and booking:
        # In the e-mail's language, as the e-mail writes the same dates.
        pdf = render_ticket_pdf(booking["booking_id"], booking, ctx.get("language"))
        return [Attachment(f"ticket-{booking['booking_number']}.pdf", "application/pdf", pdf)]
    if template == "certificate_ready" and booking:
        child_ids = ctx.get("child_ids") or eligible_children(booking)
        out = []
        for child_id in child_ids:
            pdf, _ = certificate_for(booking["booking_id"], int(child_id), booking,
                                     ctx.get("language"))
            out.append(Attachment(certificate_filename(booking, int(child_id)), "application/pdf", pdf))
        return out
    return []
