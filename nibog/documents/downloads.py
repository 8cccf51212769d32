"""A file handed to a client: a short-lived storage URL to redirect to, or the bytes to send.

With S3 storage the web worker only signs a URL (no request, no streaming) and answers 302; with
local storage it sends the file as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, redirect

from nibog.documents.storage import content_disposition, get_storage


@dataclass
class Download:
    filename: str
    content_type: str
    url: str | None = None
    data: bytes | None = None
    inline: bool = True


def stored(key: str, *, filename: str, content_type: str, inline: bool = True) -> Download:
    store = get_storage()
    url = store.url(key, filename=filename, content_type=content_type, inline=inline)
    if url:
        return Download(filename, content_type, url=url, inline=inline)
    return Download(filename, content_type, data=store.get(key), inline=inline)


def generated(
    key: str, data: bytes, *, filename: str, content_type: str, inline: bool = True
) -> Download:
    """A file made for this request: put where the client can fetch it, when storage can."""
    store = get_storage()
    if not store.serves_urls:
        return Download(filename, content_type, data=data, inline=inline)
    store.put(key, data, content_type)
    url = store.url(key, filename=filename, content_type=content_type, inline=inline)
    return Download(filename, content_type, url=url, inline=inline)


def send(download: Download) -> Response:
    if download.url:
        resp = redirect(download.url, code=302)
    else:
        resp = Response(download.data, mimetype=download.content_type)
        resp.headers["Content-Disposition"] = content_disposition(
            download.filename, inline=download.inline
        )
    # Neither the file nor the signed address belongs in a shared cache.
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
