"""Children's and parents' names in Devanagari, Telugu, Tamil and Kannada on tickets and
certificates: drawn in the shipped Noto fonts (not the standard Latin fonts, which print boxes)
and shaped (conjuncts joined, vowel signs placed), as HarfBuzz lays them out."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from nibog.core.timeutil import today_ist
from nibog.documents import certificates, tickets, typeset
from tests.documents.helpers import make_booking
from tests.factories import EventFactory, UserFactory

NAMES = {
    "NotoSansDevanagari": "क्षितिज श्रीवास्तव",
    "NotoSansTelugu": "శ్రీనివాస్ రెడ్డి",
    "NotoSansTamil": "கொற்றவை ஸ்ரீநிதி",
    "NotoSansKannada": "ಕೃಷ್ಣ ಪ್ರಸಾದ್",
}


def _past_event():
    return EventFactory(event_date=today_ist() - timedelta(days=1), status="completed")


def _fonts_used(pdf: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return fonts


@pytest.mark.parametrize("family, name", NAMES.items())
def test_each_script_is_cut_into_runs_its_font_can_draw(family, name):
    typeset.register_fonts()
    runs = typeset.runs(f"{name} (Aarav)")
    assert runs[0] == (family, name + " ")
    for font, piece in runs:
        cmap = pdfmetrics.getFont(font).face.charToGlyph
        missing = [ch for ch in piece if ord(ch) not in cmap and ch not in "\u200c\u200d"]
        assert not missing, f"{font} has no glyph for {missing}"


def test_punctuation_in_an_indian_word_stays_in_its_font_and_mixed_words_split():
    assert typeset.runs("(आरव)") == [("NotoSansDevanagari", "(आरव)")]
    # reportlab shapes a word in its first font: a mixed word is split at the change.
    assert "\u200b" in typeset.markup("Aarav(आरव)")
    assert typeset.runs("Łukasz Zoë") == [("NotoSans", "Łukasz Zoë")]


def test_the_serif_look_has_serif_latin_and_devanagari_and_sans_for_the_rest():
    fonts = [font for font, _, _ in typeset.shaped_runs("Zoë आरव கொற்றவை", 20, bold=True,
                                                          serif=True)]
    assert fonts == ["NotoSerif-Bold", "NotoSerifDevanagari-Bold", "NotoSansTamil-Bold"]


@pytest.mark.parametrize("text, font, glyphs", [
    ("क्ष", "NotoSansDevanagari", 1),  # ka + virama + ssa: one conjunct glyph
    ("श्री", "NotoSansDevanagari", 2),  # sha + virama + ra: one ligature; the ii sign
    ("క్ష", "NotoSansTelugu", 1),       # ka + virama + ssa: one conjunct glyph
    ("ಕ್ಷ", "NotoSansKannada", 1),      # the same in Kannada
    ("கொ", "NotoSansTamil", 3),        # the split vowel: e-sign, ka, aa-sign
])
def test_text_is_shaped_by_harfbuzz(text, font, glyphs):
    [(used, shaped, width)] = typeset.shaped_runs(text, 20)
    assert used == font
    assert len(shaped) == glyphs and width > 0


def test_a_short_i_sign_is_drawn_before_its_consonant():
    [(_, shaped, _)] = typeset.shaped_runs("कि", 20)
    # Typed after the consonant, printed before it: the consonant comes second.
    assert len(shaped) == 2 and shaped[1] == "क"


@pytest.mark.parametrize("family, name", NAMES.items())
def test_ticket_prints_child_and_parent_names_in_their_script_fonts(family, name):
    parent = UserFactory(full_name=name)
    booking, _ = make_booking(user=parent, child_names=(name, "Aarav"))
    pdf = tickets.render_ticket_pdf(booking.id)
    fonts = _fonts_used(pdf)
    assert f"{family}-Regular" in fonts  # the child in the games table, the parent above it


@pytest.mark.parametrize("family, name", NAMES.items())
def test_certificate_prints_the_childs_name_in_its_script(family, name):
    booking, info = make_booking(child_names=(name,), status="completed", event=_past_event())
    pdf = certificates.render_certificate_pdf(booking.id, info["children"][0].id)
    # The default "classic" template is serif where a serif cut is shipped (Devanagari).
    assert f"{typeset.SERIF.get(family, family)}-Bold" in _fonts_used(pdf)
    assert certificates.certificate_filename(
        {"booking_number": "B1", "live_items": [{"child_id": 1, "child_name": name}]}, 1
    ) == f"certificate-B1-{name.replace(' ', '-')}.pdf"


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils not installed")
def test_certificate_renders_to_an_image(tmp_path):
    """For a person to look at: ``pytest --basetemp=DIR`` keeps the PNG."""
    booking, info = make_booking(child_names=(NAMES["NotoSansDevanagari"],), status="completed",
                                 event=_past_event())
    pdf = certificates.render_certificate_pdf(booking.id, info["children"][0].id)
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(tmp_path / "certificate.pdf"),
                    str(tmp_path / "certificate")], check=True)
    assert (tmp_path / "certificate-1.png").stat().st_size > 10_000
