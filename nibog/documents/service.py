"""Document use cases for the API: whose booking it is, and what may be handed out."""

from __future__ import annotations

from nibog.booking.access import access_code_matches
from nibog.booking.models import Booking
from nibog.core.errors import NotFound, ValidationFailed
from nibog.documents import certificates, downloads, tickets
from nibog.documents.booking_view import load_booking_view
from nibog.documents.downloads import Download
from nibog.extensions import db
from nibog.notifications.service import queue_email

PDF = "application/pdf"


def owned_booking(booking_id: int, user) -> Booking:
    """The caller's booking; someone else's is 404, never 403 (ids reveal nothing)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or user is None or booking.user_id != user.id:
        raise NotFound("Booking")
    return booking


def ticket_pdf(booking_id: int, user, language: str | None = None) -> tuple[bytes, str]:
    """``language``: the page's the parent downloads it from; else their account's."""
    booking = owned_booking(booking_id, user)
    return (tickets.render_ticket_pdf(booking.id, language=language),
            f"ticket-{booking.booking_number}.pdf")


def ticket_download(booking_id: int, user, *, inline: bool = True,
                    language: str | None = None) -> Download:
    """The ticket, as it stands now (rendered per request: its status may have changed)."""
    data, filename = ticket_pdf(booking_id, user, language)
    return downloads.generated(
        f"tickets/{booking_id}/{filename}", data, filename=filename, content_type=PDF,
        inline=inline,
    )


def guest_ticket_pdf(booking_id: int, access_code: str | None,
                     language: str | None = None) -> tuple[bytes, str]:
    """A guest booking's ticket for whoever holds its access code (404 otherwise)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.user_id is not None or not access_code_matches(
        booking, access_code
    ):
        raise NotFound("Booking")
    return (tickets.render_ticket_pdf(booking.id, language=language),
            f"ticket-{booking.booking_number}.pdf")


def ticket_json(booking_id: int, user) -> dict:
    owned_booking(booking_id, user)
    return tickets.ticket_json(booking_id)


def _pick_child(view: dict, child_id: int | None) -> int:
    children = list(dict.fromkeys(i["child_id"] for i in view["live_items"]))
    if child_id is None:
        if len(children) == 1:
            return children[0]
        raise ValidationFailed({"child_id": ["This booking has several children: say which one"]})
    if child_id not in children:
        raise NotFound("Child in this booking")
    return child_id


def certificate_download(
    booking_id: int, user, child_id: int | None, *, inline: bool = True,
    language: str | None = None,
) -> Download:
    """The child's certificate, generated and stored on first request (flushes)."""
    owned_booking(booking_id, user)
    view = load_booking_view(booking_id)
    child_id = _pick_child(view, child_id)
    key = certificates.stored_certificate(booking_id, child_id, view, language)
    return downloads.stored(
        key, filename=certificates.certificate_filename(view, child_id), content_type=PDF,
        inline=inline,
    )


def email_certificate(booking_id: int, user, child_id: int | None) -> dict:
    """Queue an email with the certificate(s) attached (flushes; sent after the commit)."""
    owned_booking(booking_id, user)
    view = load_booking_view(booking_id)
    if child_id is None:
        child_ids = certificates.eligible_children(view)
        if not child_ids:
            # Says why (event not over, nobody attended) through the same checks.
            certificates.certificate_items(view, _pick_child(view, None))
    else:
        child_ids = [_pick_child(view, child_id)]
        certificates.certificate_items(view, child_ids[0])
    to = user.email or view["email"]
    if not to:
        raise ValidationFailed({"email": ["Add an email address to your account first"]})
    entry = queue_email(
        "certificate_ready", to, {"booking_id": booking_id, "child_ids": child_ids},
        user_id=user.id, booking_id=booking_id,
    )
    return {"queued": entry.status == "queued", "status": entry.status, "email": to,
            "child_ids": child_ids}
