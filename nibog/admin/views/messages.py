"""Messages: the contact form's messages with their replied state, and the log of every
message we sent, with resend. Staff handle both (messages are part of their work)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from nibog.admin.views import bp
from nibog.admin.views.access import OPERATE, READ, actor, allow
from nibog.admin.views.formkit import refusal
from nibog.admin.views.listing import arg, int_arg, list_args, page_of
from nibog.admin.views.sales import date_arg
from nibog.content import service as content
from nibog.content.models import ContactMessage
from nibog.core.errors import AppError
from nibog.notifications import admin_log
from nibog.notifications.models import NotificationLog

CONTACT_SORTS = {"received": ContactMessage.created_at, "name": ContactMessage.name}
CONTACT_STATES = {"new": _l("Not replied"), "handled": _l("Replied")}
CHANNEL_LABELS = {"email": _l("E-mail"), "sms": _l("SMS"), "whatsapp": _l("WhatsApp")}
MESSAGE_STATUS_LABELS = {
    "queued": _l("Queued"), "sent": _l("Sent"), "failed": _l("Failed"),
    "delivered": _l("Delivered"), "bounced": _l("Bounced"), "suppressed": _l("Not sent"),
}


def _back_to(default: str) -> str:
    # Back to the list the button was pressed on, filters and page kept (same site only).
    target = request.form.get("next") or ""
    return target if target.startswith("/admin/") else default


@bp.get("/contact-messages")
@allow(READ)
def contact_messages():
    status = arg("status") if arg("status") in CONTACT_STATES else None
    args = list_args(CONTACT_SORTS, "received", "desc")
    page = page_of(content.contact_messages(status, arg("q")), CONTACT_SORTS, args,
                   tiebreak=ContactMessage.id.desc())
    return render_template("admin/messages/contact.html", page=page,
                           states=[(k, str(v)) for k, v in CONTACT_STATES.items()])


def _set_contact(msg_id: int, status: str):
    content.set_contact_status(msg_id, status, actor().id, actor().ip)
    flash(_("Marked replied.") if status == "handled" else _("Marked not replied."), "success")
    return redirect(_back_to(url_for("admin_web.contact_messages")))


@bp.post("/contact-messages/<int:msg_id>/replied")
@allow(OPERATE)
def contact_message_replied(msg_id: int):
    return _set_contact(msg_id, "handled")


@bp.post("/contact-messages/<int:msg_id>/reopen")
@allow(OPERATE)
def contact_message_reopen(msg_id: int):
    return _set_contact(msg_id, "new")


@bp.get("/notifications")
@allow(READ)
def notifications():
    filters = {
        "channel": arg("channel") if arg("channel") in admin_log.CHANNELS else None,
        "status": arg("status") if arg("status") in admin_log.STATUSES else None,
        "template": arg("template"),
        "q": arg("q"),
        "booking_id": int_arg("booking_id"),
        "date_from": date_arg("date_from"),
        "date_to": date_arg("date_to"),
    }
    args = list_args(admin_log.MESSAGE_SORTS, "created", "desc")
    page = page_of(admin_log.message_rows(filters), admin_log.MESSAGE_SORTS, args,
                   tiebreak=NotificationLog.id.desc())
    return render_template(
        "admin/messages/notifications.html", page=page,
        channels=[(c, str(CHANNEL_LABELS[c])) for c in admin_log.CHANNELS],
        statuses=[(s, str(MESSAGE_STATUS_LABELS[s])) for s in admin_log.STATUSES],
        templates=[(t, t) for t in admin_log.templates_in_use()],
    )


@bp.post("/notifications/<int:log_id>/resend")
@allow(OPERATE)
def notification_resend(log_id: int):
    try:
        new = admin_log.resend(log_id, actor_id=actor().id, client_ip=actor().ip)
    except AppError as exc:
        return render_template("admin/error.html", status=exc.status,
                               message=refusal(exc)), exc.status
    if new.status == "queued":
        flash(_("Sent again."), "success")
    else:
        flash(_("Not sent: %(why)s", why=new.error or new.status), "warning")
    return redirect(_back_to(url_for("admin_web.notifications")))


@bp.app_template_global("message_status_label")
def message_status_label(status: str) -> str:
    return str(MESSAGE_STATUS_LABELS.get(status, status))
