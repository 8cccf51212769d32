"""Message templates: subjects, rendering, what is marketing, and what gets attached.

Email bodies live in ``templates/email/<name>.txt`` and ``.html``; SMS and WhatsApp text in
``templates/sms/<name>.txt``. The context the caller queued (plain JSON values) is completed at send
time with fresh data: the booking as it is now, links, the brand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, render_template
from jinja2 import TemplateNotFound

from nibog.core.money import format_inr
from nibog.notifications.channels import Attachment

SUBJECTS: dict[str, str] = {
    "welcome": "Welcome to NIBOG, {{ full_name or 'there' }}!",
    "verify_email": "Confirm your email address",
    "password_reset": "Reset your NIBOG password",
    "login_otp": "Your NIBOG sign-in code",
    "phone_verify_otp": "Your NIBOG verification code",
    "booking_held": "Complete your payment for booking {{ booking.booking_number }}",
    "booking_confirmed": "Booking confirmed: {{ booking.booking_number }} - {{ booking.event.title }}",
    "booking_cancelled": "Booking {{ booking.booking_number }} cancelled",
    "refund_processed": "Your refund for booking {{ booking.booking_number }}",
    "late_payment_refunded": "Payment refunded: booking {{ booking.booking_number }}",
    "waitlist_offer": "A seat opened up for {{ child_name or 'your child' }}!",
    "event_reminder": "See you tomorrow at {{ booking.event.title }}",
    "certificate_ready": "Certificates for {{ booking.event.title }}",
    "contact_message": "Contact form: {{ name }}",
    "event_announcement": "New NIBOG event: {{ event_title }}",
}

# Promotional messages honour User.marketing_opt_in; everything else is transactional and goes.
MARKETING_TEMPLATES = frozenset({"event_announcement"})


def is_marketing(template: str) -> bool:
    return template in MARKETING_TEMPLATES


def build_context(
    context: dict[str, Any], *, booking_id: int | None, user_id: int | None
) -> dict[str, Any]:
    cfg = current_app.config
    base = cfg.get("PUBLIC_BASE_URL", "").rstrip("/")
    ctx: dict[str, Any] = {
        "brand": "NIBOG",
        "base_url": base,
        "support_email": cfg.get("STAFF_NOTIFY_EMAIL", ""),
    }
    ctx.update(context or {})
    for key in ("amount", "refund_amount", "total"):
        if isinstance(ctx.get(key), int) and f"{key}_display" not in ctx:
            ctx[f"{key}_display"] = format_inr(ctx[key])
    booking_id = booking_id or ctx.get("booking_id")
    if booking_id:
        from nibog.documents.booking_view import load_booking_view

        booking = load_booking_view(int(booking_id))
        ctx["booking"] = booking
        ctx.setdefault("full_name", booking["parent_name"])
        ctx.setdefault("booking_url", f"{base}/account/bookings/{booking_id}")
        ctx.setdefault("pay_url", f"{base}/book/{booking_id}/pay")
        if booking["hold_expires_at"]:
            deadline = datetime.fromisoformat(booking["hold_expires_at"])
            ctx.setdefault("pay_deadline", deadline.strftime("%d %b %Y, %H:%M IST"))
    if user_id and "full_name" not in ctx:
        from nibog.accounts.models import User
        from nibog.extensions import db

        user = db.session.get(User, user_id)
        if user is not None:
            ctx["full_name"] = user.full_name
    return ctx


def render_email(template: str, ctx: dict[str, Any]) -> tuple[str, str, str | None]:
    # Subjects are plain text: no HTML escaping (render_template_string would turn ' into &#39;).
    env = current_app.jinja_env.overlay(autoescape=False)
    subject = " ".join(env.from_string(SUBJECTS.get(template, "NIBOG")).render(**ctx).split())
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
    from nibog.notifications.channels import TemplateMessage

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
    from nibog.notifications.channels import TemplateMessage

    template_id = current_app.config.get(f"SMS_DLT_TEMPLATE_{template.upper()}")
    return TemplateMessage(template_id) if template_id else None


def render_short_text(template: str, ctx: dict[str, Any]) -> str:
    return render_template(f"sms/{template}.txt", **ctx).strip()


def attachments_for(template: str, ctx: dict[str, Any]) -> list[Attachment]:
    booking = ctx.get("booking")
    if template == "booking_confirmed" and booking:
        from nibog.documents.tickets import render_ticket_pdf

        pdf = render_ticket_pdf(booking["booking_id"], booking)
        return [Attachment(f"ticket-{booking['booking_number']}.pdf", "application/pdf", pdf)]
    if template == "certificate_ready" and booking:
        from nibog.documents.certificates import (
            certificate_filename,
            certificate_for,
            eligible_children,
        )

        child_ids = ctx.get("child_ids") or eligible_children(booking)
        out = []
        for child_id in child_ids:
            pdf, _ = certificate_for(booking["booking_id"], int(child_id), booking)
            out.append(Attachment(certificate_filename(booking, int(child_id)), "application/pdf", pdf))
        return out
    return []
