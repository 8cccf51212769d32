"""A Hindi-speaking parent's ticket and certificate are in Hindi, labels included, and every
Devanagari letter is set in a Devanagari font (a standard PDF font has none: boxes); an English
parent's stay English. Read back with pdftotext and pdffonts as a PDF viewer would show them; a
Hindi ticket and certificate are also drawn to test-artifacts/screenshots/ for a person to look at.

reportlab gives a glyph with no character of its own (a conjunct such as ``प्र``, a short i sign
``ि`` in its width variant) a private-use code in the PDF, so pdftotext cannot give those back:
the text read is compared without private-use characters, short i signs and spaces, and the
Hindi words asserted have no conjuncts.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from nibog.catalog.models import GameTemplate
from nibog.core import boundary
from nibog.documents import certificates, tickets
from nibog.extensions import db
from tests.documents.helpers import make_booking
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdffonts")),
                                reason="poppler-utils missing")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PAST_DAY = date(2026, 11, 1)

TICKET_HI = ["टिकट", "तारीख:", "अभिभावक:", "खेल", "समय", "सामान", "QR कोड दिखाएँ",
             "कृपया अपने पहले खेल के समय से 30 मिनट पहले"]
TICKET_EN = ["NIBOG entry ticket", "Booking NIB-", "Date:", "Venue:", "Parent:", "Child", "Game",
             "Slot", "Games", "Add-ons", "Show the QR code at the entrance"]
# Noto Serif Devanagari draws री as one glyph: "भागीदार" is what can be read of भागीदारी.
CERTIFICATE_HI = ["भागीदार", "के साथ", "पहला", "पाने के", "भाग लेने के"]
CERTIFICATE_EN = ["Certificate of Achievement", "Certificate of Participation",
                  "This certificate is proudly presented to", "for winning 1st place in",
                  "for taking part in", "Booking NIB-", "New India Baby Olympic Games"]


def _readable(text: str) -> str:
    # NFKC: Noto Serif's fi ligature reads back as "ﬁ". Spaces: pdftotext cuts some Devanagari
    # words where a vowel sign is placed by offset.
    return "".join(ch for ch in unicodedata.normalize("NFKC", text)
                   if not (0xE000 <= ord(ch) <= 0xF8FF or ch == "\u093f" or ch.isspace()))


def _found(words: list[str], text: str) -> list[str]:
    return [w for w in words if _readable(w) in text]


def _missing(words: list[str], text: str) -> list[str]:
    return [w for w in words if _readable(w) not in text]


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return _readable(out)


def _fonts(pdf: bytes, tmp_path) -> list[tuple[str, bool]]:
    """(font name, embedded) per font, as ``pdffonts`` lists them."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                           text=True).stdout.splitlines()[2:]
    # name type encoding emb sub uni object ID: the flags are the 5th to 3rd fields from the end.
    return [(line.split()[0].split("+")[-1], line.split()[-5] == "yes") for line in lines]


def _text_by_font(pdf: bytes) -> dict[str, str]:
    """Each font -> the text drawn in it, as pypdf decodes it."""
    seen: dict[str, str] = {}

    def visit(text, _cm, _tm, font, _size):
        if text and font is not None:
            name = str(font["/BaseFont"]).split("+")[-1]
            seen[name] = seen.get(name, "") + text

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return seen


def _assert_readable(pdf: bytes, tmp_path, hindi: bool) -> None:
    fonts = _fonts(pdf, tmp_path)
    assert fonts and all(embedded for _, embedded in fonts), fonts
    # The standard fonts have Latin only (Hindi would print as boxes): none is used at all.
    assert not [n for n, _ in fonts if n.startswith(("Helvetica", "Times", "Courier"))], fonts
    drawn = _text_by_font(pdf)
    # reportlab writes a character its font has no glyph for as code 0: a box on paper.
    boxes = {font: text for font, text in drawn.items() if "\x00" in text}
    assert not boxes, f"characters drawn in a font without them: {boxes}"
    devanagari = {font: "".join(ch for ch in text if 0x0900 <= ord(ch) <= 0x097F)
                  for font, text in drawn.items()}
    devanagari = {font: text for font, text in devanagari.items() if text}
    if hindi:
        assert devanagari, "no Devanagari text found"
    strays = {font: text for font, text in devanagari.items() if "Devanagari" not in font}
    assert not strays, f"Devanagari set in fonts without it: {strays}"


def _png(pdf: bytes, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(SCREENSHOTS / f"{name}.pdf"),
                    str(SCREENSHOTS / name)], check=True)
    (SCREENSHOTS / f"{name}.pdf").unlink()
    return SCREENSHOTS / f"{name}.png"


def _ticket_booking(language: str):
    event = EventFactory(title="Pune Kids Day", venue__name="Shivaji Park")
    return make_booking(user=UserFactory(language=language, full_name="Meera Joshi"), event=event,
                        child_names=("आरव शर्मा", "Diya"), games=("Running Race",),
                        addon=("Photo pack", 1, 19900))


def test_hindi_parent_gets_a_ticket_with_hindi_labels(tmp_path):
    booking, _ = _ticket_booking("hi")
    pdf = tickets.render_ticket_pdf(booking.id)
    text = _text(pdf, tmp_path)
    missing = _missing(TICKET_HI, text)
    assert not missing, text
    english = _found(TICKET_EN, text)
    assert not english, text
    # Names, event and venue are printed as written.
    assert not _missing(["Pune Kids Day", "Shivaji Park", "Meera Joshi"], text)
    _assert_readable(pdf, tmp_path, hindi=True)
    if shutil.which("pdftoppm"):
        assert _png(pdf, "ticket-hi").stat().st_size > 10_000


def test_english_parent_keeps_an_english_ticket(tmp_path):
    booking, _ = _ticket_booking("en")
    pdf = tickets.render_ticket_pdf(booking.id)
    text = _text(pdf, tmp_path)
    assert not _missing(TICKET_EN, text), text
    assert not _found(TICKET_HI, text), text
    _assert_readable(pdf, tmp_path, hindi=False)  # the child's Devanagari name included


def _certificate_booking(language: str, template: str = "classic"):
    event = EventFactory(event_date=PAST_DAY, status="completed", certificate_template=template)
    booking, info = make_booking(user=UserFactory(language=language), event=event,
                                 status="completed", games=("Running Race", "Baby Crawling"))
    info["items"][0].result_position = 1
    boundary.commit()
    return booking, info["children"][0].id


@pytest.mark.parametrize("template", ["classic", "playful"])
def test_hindi_parent_gets_a_certificate_in_hindi(tmp_path, template):
    booking, child = _certificate_booking("hi", template)
    pdf = certificates.render_certificate_pdf(booking.id, child)
    text = _text(pdf, tmp_path)
    assert not _missing(CERTIFICATE_HI, text), text
    assert not _found(CERTIFICATE_EN, text), text
    _assert_readable(pdf, tmp_path, hindi=True)
    fonts = {name for name, _ in _fonts(pdf, tmp_path)}
    # The classic look is serif in both scripts, the playful one sans.
    title = "NotoSerifDevanagari-Bold" if template == "classic" else "NotoSansDevanagari-Bold"
    assert title in fonts, fonts
    if template == "classic" and shutil.which("pdftoppm"):
        assert _png(pdf, "certificate-hi").stat().st_size > 10_000


@pytest.mark.parametrize("template, latin", [("classic", "NotoSerif-Bold"),
                                             ("playful", "NotoSans-Bold")])
def test_english_certificate_stays_english_in_the_templates_face(tmp_path, template, latin):
    booking, child = _certificate_booking("en", template)
    pdf = certificates.render_certificate_pdf(booking.id, child)
    text = _text(pdf, tmp_path)
    assert not _missing(CERTIFICATE_EN, text), text
    assert not _found(CERTIFICATE_HI, text), text
    _assert_readable(pdf, tmp_path, hindi=False)
    assert latin in {name for name, _ in _fonts(pdf, tmp_path)}


def test_a_long_game_name_is_set_smaller_to_stay_on_the_page(tmp_path):
    booking, child = _certificate_booking("hi")
    long_name = "Grand Finale Obstacle Course Relay Race for Toddlers, Their Parents and Grandparents"
    for template in db.session.scalars(select(GameTemplate).where(
            GameTemplate.name.like("Running Race%"))):
        template.name = long_name
    boundary.commit()
    pdf = certificates.render_certificate_pdf(booking.id, child)
    path = tmp_path / "long.pdf"
    path.write_bytes(pdf)
    # Words placed beyond the page's inner border would be cut off: pdftotext -bbox gives each
    # word's box.
    boxes = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True,
                           capture_output=True, text=True).stdout
    xs = [float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes)]
    page_width = 841.89  # A4 landscape, points
    assert xs and max(xs) < page_width - 17 * 72 / 25.4


def test_the_playful_signature_line_clears_the_corner_dots(tmp_path):
    booking, child = _certificate_booking("en", "playful")
    path = tmp_path / "playful.pdf"
    path.write_bytes(certificates.render_certificate_pdf(booking.id, child))
    boxes = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(path), "-"],
                           check=True, capture_output=True, text=True).stdout
    bottoms = [float(y) for y in re.findall(r'yMax="([\d.]+)">(?:Olympic|Games)<', boxes)]
    dots_top = 595.28 - 34 * 72 / 25.4  # the lower dots reach 34 mm up from the page's foot
    assert bottoms and max(bottoms) < dots_top
