"""A one-second, per-process cache of the public pages a visitor without a session sees (home,
listing, event page), beside the catalog's JSON micro-cache (nibog/catalog/microcache.py).

During a sale thousands of parents reload the same event page. The catalog data behind it is
already cached; what is left is rendering the template. Here the finished HTML is kept for
``CATALOG_MICROCACHE_SECONDS`` (default 1), keyed by the catalog version, the address, the
language and the remembered city, so seat counts are at most that much older than the cached
catalog they come from. Only requests without a session cookie are served or stored (a session
may carry a sign-in or a flashed message meant for one person), and only answers that set no
cookie.
"""

from __future__ import annotations

from flask import Response, current_app, request

from nibog.catalog import microcache
from nibog.core.i18n import select_locale
from nibog.core.memo import AnswerMemo

_pages = AnswerMemo("pagecache", "text/html", max_entries=1024)


def _key() -> tuple | None:
    if request.method != "GET" or microcache.ttl() <= 0:
        return None
    if current_app.config["SESSION_COOKIE_NAME"] in request.cookies:
        return None
    return (microcache.catalog_version(), request.full_path, select_locale(),
            request.cookies.get("city", ""))


def serve_cached():
    """``before_request``: the stored page while it is fresh, else None (the view runs)."""
    return _pages.serve(_key())


def store(response: Response) -> Response:
    """``after_request``: keep a page that sets no cookie (a cookie is meant for one visitor)."""
    if "Set-Cookie" in response.headers:
        return response
    return _pages.store(response, microcache.ttl())


def clear() -> None:
    _pages.clear()
