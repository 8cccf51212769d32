"""PDF answers for the API and the site: the file name safe in any script, never cached."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response


def pdf_response(data: bytes, filename: str, *, download: bool = False) -> Response:
    """A PDF answer; ``download`` asks the browser to save it rather than show it."""
    resp = Response(data, mimetype="application/pdf")
    # Header values are Latin-1: a child's name in Devanagari goes in the RFC 6266 UTF-8 form,
    # with a plain-ASCII fallback for old clients (a raw one makes the server answer 500).
    plain = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-"
                    for ch in filename)
    disposition = f'{"attachment" if download else "inline"}; filename="{plain}"'
    if plain != filename:
        disposition += f"; filename*=UTF-8''{quote(filename)}"
    resp.headers["Content-Disposition"] = disposition
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
