"""Names in Indian scripts on tickets and certificates, correctly shaped.

PDF's standard fonts know Latin only: a child's name in Devanagari printed as boxes. The Noto
fonts shipped in ``documents/fonts/`` (SIL Open Font License, ``fonts/OFL.txt``) cover Latin,
Devanagari, Telugu, Tamil and Kannada, one font per script, so a text is cut into runs by script
and each run is drawn in its script's font. Conjuncts and vowel signs need OpenType shaping
(HarfBuzz, through reportlab's ``uharfbuzz`` support): without it ``क्ष`` or ``கொ`` come out as
loose letters. Adding a script is a line in ``SCRIPTS`` and its two font files.

Labels go through here too, not only names: a Hindi ticket or certificate is Devanagari from its
title down. ``serif=True`` (the classic certificate) swaps each family for its serif cut where
one is shipped (``SERIF``); a script without one keeps its sans font.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import ShapedStr, TTFont, shapeStr
from reportlab.pdfgen.canvas import Canvas

FONT_DIR = Path(__file__).with_name("fonts")
# The font for Latin text and anything no script font below covers.
BASE = "NotoSans"
# Font family -> the Unicode blocks it draws.
SCRIPTS: dict[str, tuple[tuple[int, int], ...]] = {
    "NotoSansDevanagari": ((0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x1CD0, 0x1CFF)),
    "NotoSansTamil": ((0x0B80, 0x0BFF),),
    "NotoSansTelugu": ((0x0C00, 0x0C7F),),
    "NotoSansKannada": ((0x0C80, 0x0CFF),),
}
# Family -> its serif cut (Noto Serif, Noto Serif Devanagari); others have none shipped.
SERIF: dict[str, str] = {BASE: "NotoSerif", "NotoSansDevanagari": "NotoSerifDevanagari"}
# Joiners and spaces belong to the run they sit in (a ZWJ inside a conjunct must be shaped with
# it; a space between two Devanagari words keeps the run whole).
_NEUTRAL = frozenset(" \u00a0\u200c\u200d")
_WORDS = re.compile(r"\s+|\S+")


@cache
def register_fonts() -> None:
    """Register every shipped font with reportlab (once per process)."""
    for family in (BASE, *SCRIPTS, *SERIF.values()):
        for weight in ("Regular", "Bold"):
            name = family if weight == "Regular" else f"{family}-Bold"
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"{family}-{weight}.ttf")))
        # <b> inside a paragraph picks the bold file of the same family.
        addMapping(family, 0, 0, family)
        addMapping(family, 1, 0, f"{family}-Bold")
        addMapping(family, 0, 1, family)
        addMapping(family, 1, 1, f"{family}-Bold")


def _family_of(ch: str) -> str | None:
    code = ord(ch)
    for family, blocks in SCRIPTS.items():
        if any(lo <= code <= hi for lo, hi in blocks):
            return family
    return None


def runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (font family, piece) runs by script.

    Characters outside the Indian scripts go to Noto Sans. Digits and ASCII punctuation inside a
    word written in an Indian script stay in that script's font (it has them), so ``(आरव)`` is one
    run.
    """
    out: list[tuple[str, str]] = []
    for word in _WORDS.findall(text):
        script = next((f for f in map(_family_of, word) if f), None)
        for ch in word:
            if ch in _NEUTRAL:
                font = out[-1][0] if out else BASE
            elif (family := _family_of(ch)) is not None:
                font = family
            elif script is not None and ch.isascii() and not ch.isalpha():
                font = script
            else:
                font = BASE
            if out and out[-1][0] == font:
                out[-1] = (font, out[-1][1] + ch)
            else:
                out.append((font, ch))
    return out


def _face(family: str, bold: bool, serif: bool = False) -> str:
    """The registered font name of ``family`` in this weight and style."""
    if serif:
        family = SERIF.get(family, family)
    return f"{family}-Bold" if bold else family


def markup(text: str, *, bold: bool = False) -> str:
    """Paragraph markup for ``text``: each script run in its own font.

    Use it in a paragraph style whose ``fontName`` is a shipped font and ``shaping=1``
    (``paragraph_style``): reportlab shapes only when the style's font can be shaped.
    """
    register_fonts()
    out, previous = [], " "
    for font, piece in runs(str(text)):
        if not previous[-1].isspace() and not piece[0].isspace():
            # A change of script inside a word: reportlab shapes a word in its first font, so
            # the word is split (a zero-width space) and each part is shaped in its own.
            out.append("\u200b")
        out.append(f'<font face="{_face(font, bold)}">{escape(piece)}</font>')
        previous = piece
    return "".join(out)


def _shaped(piece: str, font: str, size: float) -> tuple[str, float]:
    """The piece as HarfBuzz lays it out in this font, and its width in points."""
    if pdfmetrics.getFont(font).shapable:
        shaped = shapeStr(piece, font, size)
        if isinstance(shaped, ShapedStr):
            return shaped, sum(g.x_advance for g in shaped.__shapeData__) * size / 1000
    return piece, pdfmetrics.stringWidth(piece, font, size)


def shaped_runs(
    text: str, size: float, *, bold: bool = False, serif: bool = False
) -> list[tuple[str, str, float]]:
    """(font, glyphs as laid out, width in points) for each script run of ``text``."""
    register_fonts()
    out = []
    for family, piece in runs(str(text)):
        font = _face(family, bold, serif)
        out.append((font, *_shaped(piece, font, size)))
    return out


def text_width(text: str, size: float, *, bold: bool = False, serif: bool = False) -> float:
    return sum(width for _, _, width in shaped_runs(text, size, bold=bold, serif=serif))


def draw(
    c: Canvas, x: float, y: float, text: str, size: float, *, bold: bool = False,
    serif: bool = False, centred: bool = False, max_width: float | None = None,
) -> None:
    """``canvas.drawString`` (or ``drawCentredString``) for text in any shipped script, shaped.

    ``max_width``: a longer text (a long game name, a wordier language) is set smaller to fit
    instead of running off the page.
    """
    pieces = shaped_runs(text, size, bold=bold, serif=serif)
    total = sum(width for _, _, width in pieces)
    if max_width and total > max_width:
        size = size * max_width / total
        pieces = shaped_runs(text, size, bold=bold, serif=serif)
        total = sum(width for _, _, width in pieces)
    left = x - total / 2 if centred else x
    for font, glyphs, width in pieces:
        c.setFont(font, size)
        c.drawString(left, y, glyphs)
        left += width


def draw_centred(c: Canvas, x: float, y: float, text: str, size: float, **kwargs) -> None:
    """``canvas.drawCentredString`` for text in any of the shipped scripts, shaped."""
    draw(c, x, y, text, size, centred=True, **kwargs)
