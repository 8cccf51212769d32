"""Ticket PDF: booking number, event, venue, date, each child's games and slot times, add-ons,
and a QR code carrying the signed payload check-in verifies offline (``documents/qr.py``).

Every word is in the document's language (``document_language``), set in the shipped Noto fonts
through ``typeset``, labels and table headers included (Devanagari in a standard font is boxes).
"""

from __future__ import annotations

import io
from typing import Any

import qrcode
from flask_babel import force_locale, gettext, pgettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select

from nibog.booking.models import Booking, BookingItem
from nibog.core import i18n
from nibog.core.errors import AppError, NotFound
from nibog.documents import typeset
from nibog.documents.booking_view import TICKET_STATUSES, document_language, load_booking_view
from nibog.documents.qr import sign_ticket, ticket_data
from nibog.extensions import db

BRAND = colors.HexColor("#1f4e9c")


class TicketUnavailable(AppError):
    def __init__(self, status: str):
        super().__init__(
            "ticket_unavailable",
            f"A ticket exists only for confirmed bookings (this one is {status})",
            409,
        )


def qr_payload(booking_id: int) -> str:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("Booking")
    items = db.session.scalars(
        select(BookingItem).where(BookingItem.booking_id == booking_id, BookingItem.is_live)
    ).all()
    return sign_ticket(ticket_data(booking, items))


def ticket_json(booking_id: int) -> dict[str, Any]:
    """What the app shows instead of the PDF (``Accept: application/json``)."""
    view = load_booking_view(booking_id)
    if view["status"] not in TICKET_STATUSES:
        raise TicketUnavailable(view["status"])
    return {
        "booking_id": view["booking_id"],
        "booking_number": view["booking_number"],
        "status": view["status"],
        "qr_payload": qr_payload(booking_id),
        "event": {**view["event"], "venue": view["venue"]},
        "items": [
            {k: i[k] for k in ("id", "child_id", "child_name", "game_name", "start_time", "end_time")}
            for i in view["live_items"]
        ],
        "addons": [{k: a[k] for k in ("name", "quantity")} for a in view["addons"]],
    }


def qr_png(payload: str) -> bytes:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4)
    code.add_data(payload)
    code.make(fit=True)
    buf = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buf, format="PNG")
    return buf.getvalue()


def _styles() -> dict[str, ParagraphStyle]:
    """The sample styles in the shipped Noto Sans, with shaping on (``documents.typeset``)."""
    typeset.register_fonts()
    sample = getSampleStyleSheet()
    out = {}
    for name in ("Title", "Heading2", "Heading3", "BodyText", "Italic"):
        base = sample[name]
        bold = "Bold" in base.fontName
        out[name] = ParagraphStyle(
            f"ticket-{name}", parent=base, shaping=1,
            fontName=f"{typeset.BASE}-Bold" if bold else typeset.BASE,
        )
    out["Italic"].textColor = colors.HexColor("#444444")
    return out


def _span(start: str, end: str, language: str) -> str:
    return f"{i18n.clock(start, language)} - {i18n.clock(end, language)}"


def render_ticket_pdf(booking_id: int, view: dict | None = None, language: str | None = None) -> bytes:
    """The ticket in ``language`` (see ``document_language``): its labels from the site
    catalogue, its date and times in IST written the Indian way, as the pages and e-mails do."""
    view = view or load_booking_view(booking_id)
    if view["status"] not in TICKET_STATUSES:
        raise TicketUnavailable(view["status"])
    language = document_language(view, language)
    payload = qr_payload(booking_id)
    buf = io.BytesIO()
    with force_locale(language):
        _build(buf, view, payload, language)
    return buf.getvalue()


def _build(buf: io.BytesIO, view: dict, payload: str, language: str) -> None:
    styles = _styles()
    h1, body, small = styles["Title"], styles["BodyText"], styles["Italic"]
    event, venue = view["event"], view["venue"]
    head = ParagraphStyle("ticket-head", parent=body, fontName=f"{typeset.BASE}-Bold",
                          textColor=colors.white)

    def p(text: str, style=body) -> Paragraph:
        # Names and titles may be in an Indian script, labels in Hindi: each script in its font,
        # shaped.
        return Paragraph(typeset.markup(str(text), bold=style.fontName.endswith("-Bold")), style)

    times = _span(event["start_time"], event["end_time"], language)
    place = f"{venue['name']}, {venue['address']}, {venue['city']}"
    header = Table(
        [
            [
                [
                    p(gettext("NIBOG entry ticket"), h1),
                    p(gettext("Booking %(number)s", number=view["booking_number"]),
                      styles["Heading2"]),
                    p(event["title"], styles["Heading3"]),
                    p(gettext("Date: %(day)s, %(times)s",
                              day=i18n.day(event["event_date"], language), times=times)),
                    p(gettext("Venue: %(place)s", place=place)),
                    p(gettext("Parent: %(name)s", name=view["parent_name"])),
                ],
                Image(io.BytesIO(qr_png(payload)), width=55 * mm, height=55 * mm),
            ]
        ],
        colWidths=[115 * mm, 60 * mm],
    )
    # A table sets its cells' font (Helvetica unless told) even around paragraphs.
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                ("FONTNAME", (0, 0), (-1, -1), typeset.BASE)]))

    rows = [[p(gettext("Child"), head), p(gettext("Game"), head), p(gettext("Slot"), head)]] + [
        [p(i["child_name"]), p(i["game_name"]),
         p(_span(i["start_time"], i["end_time"], language))]
        for i in view["live_items"]
    ]
    games = Table(rows, colWidths=[60 * mm, 75 * mm, 40 * mm], repeatRows=1)
    games.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), typeset.BASE),
                ("BACKGROUND", (0, 0), (-1, 0), BRAND),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story = [header, Spacer(1, 6 * mm), p(gettext("Games"), styles["Heading3"]), games]
    if view["addons"]:
        # A context of its own: the dashboard's catalogue, merged over the site's, has "Add-ons"
        # in its admin wording.
        story += [Spacer(1, 4 * mm), p(pgettext("ticket", "Add-ons"), styles["Heading3"])]
        story += [p(f"{a['quantity']} x {a['name']}") for a in view["addons"]]
    story += [
        Spacer(1, 6 * mm),
        p(gettext("Show the QR code at the entrance. Please arrive 30 minutes before your first "
                  "slot."), small),
    ]
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=gettext("NIBOG ticket %(number)s", number=view["booking_number"]),
        author="NIBOG",
        subject=event["title"],
        # Not the default Helvetica as each page's first font: every font in the file is
        # embedded, and /Lang tells screen readers the language.
        initialFontName=typeset.BASE,
        lang=language,
    )
    doc.build(story)
