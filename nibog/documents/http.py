"""PDF answers made for this request (the bytes in hand), for the API and the site."""

from __future__ import annotations

from flask import Response

from nibog.documents.downloads import Download, send


def pdf_response(data: bytes, filename: str, *, download: bool = False) -> Response:
    """A PDF answer; ``download`` asks the browser to save it rather than show it."""
    return send(Download(filename, "application/pdf", data=data, inline=not download))
