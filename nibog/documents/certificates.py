"""Participation and winner certificates, one PDF per child per booking (a page per game).

The look comes from the template an admin picks per event (``Event.certificate_template``);
a winner page (``BookingItem.result_position`` set) names the place. Every word is in the
document's language (``document_language``) and drawn through ``typeset`` in the shipped Noto
fonts: the standard PDF fonts have no Devanagari, so a Hindi title would print as boxes.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import force_locale, gettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from sqlalchemy import update

from nibog.booking.models import BookingItem
from nibog.core import i18n
from nibog.core.errors import AppError, NotFound
from nibog.core.timeutil import IST
from nibog.documents import typeset
from nibog.documents.booking_view import TICKET_STATUSES, document_language, load_booking_view
from nibog.documents.storage import StorageError, get_storage
from nibog.extensions import db


@dataclass(frozen=True)
class CertificateTemplate:
    name: str
    label: str
    border: colors.Color
    accent: colors.Color
    # Noto Serif (the classic look, as Times was) or Noto Sans (as Helvetica was).
    serif: bool


TEMPLATES: dict[str, CertificateTemplate] = {
    "classic": CertificateTemplate(
        "classic", "Classic", colors.HexColor("#8a6d1d"), colors.HexColor("#1f4e9c"),
        serif=True,
    ),
    "playful": CertificateTemplate(
        "playful", "Playful", colors.HexColor("#ff7a00"), colors.HexColor("#d6246e"),
        serif=False,
    ),
}
DEFAULT_TEMPLATE = "classic"


def available_templates() -> list[dict[str, str]]:
    return [{"name": t.name, "label": t.label} for t in TEMPLATES.values()]


def winning_line(position: int, game: str) -> str:
    """What the child won, in the current locale: whole sentences, as word order and ordinals
    differ between languages (``for winning 1st place in …``, ``… में पहला स्थान …``)."""
    if position == 1:
        return gettext("for winning 1st place in %(game)s", game=game)
    if position == 2:
        return gettext("for winning 2nd place in %(game)s", game=game)
    if position == 3:
        return gettext("for winning 3rd place in %(game)s", game=game)
    return gettext("for winning place %(number)s in %(game)s", number=position, game=game)


class CertificateUnavailable(AppError):
    """``reason``: no_certificates, event_not_over or did_not_take_part (pages say it in the
    parent's language)."""

    def __init__(self, message: str, reason: str):
        super().__init__("certificate_unavailable", message, 409, {"reason": reason})


def event_is_over(event: dict[str, Any], now: datetime | None = None) -> bool:
    now = (now or datetime.now(IST)).astimezone(IST)
    end = datetime.fromisoformat(f"{event['event_date']}T{event['end_time']}").replace(tzinfo=IST)
    return now >= end


def certificate_items(view: dict[str, Any], child_id: int) -> list[dict[str, Any]]:
    """The child's games that earn a certificate, or an error saying why there is none yet.

    Completed event: every game the child was not marked absent from. Event over but not yet
    completed by the organisers: only games the child was checked in to.
    """
    items = [i for i in view["live_items"] if i["child_id"] == child_id]
    if not items:
        raise NotFound("Child in this booking")
    event = view["event"]
    if view["status"] not in TICKET_STATUSES or event["status"] == "cancelled":
        raise CertificateUnavailable("This booking has no certificates", "no_certificates")
    if event["status"] == "completed":
        eligible = [i for i in items if i["attendance"] != "no_show"]
    elif event_is_over(event):
        eligible = [i for i in items if i["attendance"] == "attended"]
    else:
        raise CertificateUnavailable("Certificates are available once the event is over",
                                     "event_not_over")
    if not eligible:
        raise CertificateUnavailable("Certificates are only for children who took part",
                                     "did_not_take_part")
    return eligible


def _draw_page(c: canvas.Canvas, tpl: CertificateTemplate, view: dict, item: dict,
               language: str) -> None:
    width, height = landscape(A4)
    c.setStrokeColor(tpl.border)
    c.setLineWidth(6)
    c.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    c.setLineWidth(1.5)
    c.rect(17 * mm, 17 * mm, width - 34 * mm, height - 34 * mm)
    if tpl.name == "playful":
        for i, colour in enumerate(("#ffcc00", "#29b6f6", "#66bb6a", "#d6246e")):
            c.setFillColor(colors.HexColor(colour))
            c.circle(30 * mm + i * 12 * mm, height - 30 * mm, 4 * mm, stroke=0, fill=1)
            c.circle(width - 30 * mm - i * 12 * mm, 30 * mm, 4 * mm, stroke=0, fill=1)

    position = item["result_position"]
    if position:
        title = gettext("Certificate of Achievement")
        line = winning_line(position, item["game_name"])
    else:
        title = gettext("Certificate of Participation")
        line = gettext("for taking part in %(game)s", game=item["game_name"])
    event, venue = view["event"], view["venue"]
    centre, room = width / 2, width - 60 * mm  # inside the inner border, with a margin
    # Names, games, titles and venues may be in an Indian script, the labels in Hindi: typeset
    # draws each script in its font, shaped, in the template's serif or sans cut.
    look = {"serif": tpl.serif, "centred": True, "max_width": room}
    c.setFillColor(tpl.accent)
    typeset.draw(c, centre, height - 55 * mm, title, 34, bold=True, **look)
    c.setFillColor(colors.black)
    typeset.draw(c, centre, height - 75 * mm, gettext("This certificate is proudly presented to"),
                 16, **look)
    typeset.draw(c, centre, height - 95 * mm, item["child_name"], 30, bold=True, **look)
    typeset.draw(c, centre, height - 112 * mm, line, 16, **look)
    typeset.draw(c, centre, height - 124 * mm, gettext("at %(event)s", event=event["title"]), 16,
                 **look)
    typeset.draw(
        c, centre, height - 134 * mm,
        f"{venue['name']}, {venue['city']} - {i18n.day(event['event_date'], language)}", 12, **look,
    )
    # Above the playful template's corner dots (up to 34 mm), which the words used to cross;
    # the booking number on the same baseline.
    c.line(width - 110 * mm, 46 * mm, width - 40 * mm, 46 * mm)
    typeset.draw(c, width - 75 * mm, 40 * mm,
                 gettext("NIBOG - %(name)s", name=gettext("New India Baby Olympic Games")), 12,
                 serif=tpl.serif, centred=True, max_width=90 * mm)
    typeset.draw(c, 30 * mm, 40 * mm,
                 gettext("Booking %(number)s", number=view["booking_number"]), 9, serif=tpl.serif)


def render_certificate_pdf(booking_id: int, child_id: int, view: dict | None = None,
                           language: str | None = None) -> bytes:
    """The child's certificate; its date written in ``language`` (see ``document_language``)."""
    view = view or load_booking_view(booking_id)
    items = certificate_items(view, child_id)
    language = document_language(view, language)
    tpl = TEMPLATES.get(view["event"]["certificate_template"], TEMPLATES[DEFAULT_TEMPLATE])
    buf = io.BytesIO()
    typeset.register_fonts()
    # Not the default Helvetica as the page's first font: every font in the file is embedded,
    # and /Lang tells screen readers the language.
    c = canvas.Canvas(buf, pagesize=landscape(A4), initialFontName=typeset.BASE, lang=language)
    with force_locale(language):  # the site catalogue's words in the document's language
        c.setTitle(gettext("NIBOG certificate %(number)s - %(name)s",
                           number=view["booking_number"], name=items[0]["child_name"]))
        c.setAuthor("NIBOG")
        for item in items:
            _draw_page(c, tpl, view, item, language)
            c.showPage()
    c.save()
    return buf.getvalue()


def _storage_key(view: dict, child_id: int, language: str) -> str:
    # The key changes with anything printed on the certificate, so a corrected result, a new
    # template or another language regenerates it instead of serving the stale file.
    items = [i for i in view["live_items"] if i["child_id"] == child_id]
    fingerprint = json.dumps(
        [view["event"]["certificate_template"], view["event"]["status"], view["event"]["title"],
         view["event"]["event_date"], language]
        + [[i["id"], i["child_name"], i["attendance"], i["result_position"]] for i in items]
    )
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:12]
    return f"certificates/{view['event']['id']}/{view['booking_id']}-{child_id}-{digest}.pdf"


def certificate_for(booking_id: int, child_id: int, view: dict | None = None,
                    language: str | None = None) -> tuple[bytes, bool]:
    """The stored certificate in ``language``, generating and storing it first if needed.

    Returns (pdf, created). Marks the child's items with the file's key (flushes only).
    """
    view = view or load_booking_view(booking_id)
    certificate_items(view, child_id)  # raises when not available
    language = document_language(view, language)
    key = _storage_key(view, child_id, language)
    storage = get_storage()
    items = [i for i in view["live_items"] if i["child_id"] == child_id]
    if all(i["certificate_path"] == key for i in items):
        try:
            return storage.get(key), False
        except StorageError:
            pass  # lost file: regenerate below
    pdf = render_certificate_pdf(booking_id, child_id, view, language)
    storage.put(key, pdf, "application/pdf")
    db.session.execute(
        update(BookingItem).where(BookingItem.id.in_([i["id"] for i in items])).values(certificate_path=key)
    )
    return pdf, True


def stored_certificate(booking_id: int, child_id: int, view: dict,
                       language: str | None = None) -> str:
    """The certificate's storage key, generating and storing it first if needed (flushes).

    Unlike ``certificate_for`` it never downloads the file: a download is a redirect to it.
    """
    certificate_items(view, child_id)  # raises when not available
    language = document_language(view, language)
    key = _storage_key(view, child_id, language)
    items = [i for i in view["live_items"] if i["child_id"] == child_id]
    if all(i["certificate_path"] == key for i in items) and get_storage().exists(key):
        return key
    certificate_for(booking_id, child_id, view, language)
    return key


def certificate_filename(view: dict, child_id: int) -> str:
    name = next((i["child_name"] for i in view["live_items"] if i["child_id"] == child_id), "child")
    # Vowel signs and viramas (category M) belong to the letters of an Indian-script name.
    safe = "".join(ch if ch.isalnum() or unicodedata.category(ch)[0] == "M" else "-"
                   for ch in name).strip("-") or "child"
    return f"certificate-{view['booking_number']}-{safe}.pdf"


def eligible_children(view: dict) -> list[int]:
    out = []
    for child_id in dict.fromkeys(i["child_id"] for i in view["live_items"]):
        try:
            certificate_items(view, child_id)
        except AppError:
            continue
        out.append(child_id)
    return out
