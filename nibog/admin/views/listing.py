"""Lists in the dashboard: page, sort and filters read from the URL (so a list is shareable),
and the links that change one of them while keeping the others."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for
from sqlalchemy import Select, func, select

from nibog.admin.views import bp
from nibog.core.pagination import MAX_PAGE, page_envelope, paginate
from nibog.extensions import db

PER_PAGE_CHOICES = (25, 50, 100)


@dataclass(frozen=True)
class ListArgs:
    page: int
    per_page: int
    sort: str
    direction: str  # "asc" | "desc"


def _int(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        return default
    return min(max(value, low), high)


def list_args(sorts: Mapping[str, Any], default: str, default_dir: str = "asc") -> ListArgs:
    """Page, page size and sort from the query string; an unknown sort falls back to the default
    (a hand-edited URL shows the list, not an error)."""
    sort = request.args.get("sort") or default
    if sort not in sorts:
        sort = default
    direction = request.args.get("dir") or default_dir
    if direction not in ("asc", "desc"):
        direction = default_dir
    per_page = _int(request.args.get("per_page"), PER_PAGE_CHOICES[0], 1, PER_PAGE_CHOICES[-1])
    return ListArgs(_int(request.args.get("page"), 1, 1, MAX_PAGE), per_page, sort, direction)


def ordered(stmt: Select, sorts: Mapping[str, Any], args: ListArgs, tiebreak=None) -> Select:
    column = sorts[args.sort]
    stmt = stmt.order_by(column.desc() if args.direction == "desc" else column.asc())
    return stmt.order_by(tiebreak) if tiebreak is not None else stmt


def page_of(stmt: Select, sorts: Mapping[str, Any], args: ListArgs, *, tiebreak=None,
            rows: bool = False, transform: Callable[[list], list] | None = None) -> dict:
    """One page of ``stmt`` sorted as asked. ``rows``: items are whole result rows (several
    columns) instead of the first column's objects."""
    stmt = ordered(stmt, sorts, args, tiebreak)
    if rows:
        total = db.session.scalar(select(func.count()).select_from(
            stmt.order_by(None).subquery())) or 0
        items = db.session.execute(
            stmt.limit(args.per_page).offset((args.page - 1) * args.per_page)).all()
        page = page_envelope(transform(items) if transform else items, args.page,
                             args.per_page, total)
    else:
        page = paginate(stmt, args.page, args.per_page, transform)
    page["sort"], page["dir"] = args.sort, args.direction
    return page


def arg(name: str) -> str | None:
    """A filter's value from the query string, stripped; empty means unset."""
    value = (request.args.get(name) or "").strip()
    return value or None


def int_arg(name: str) -> int | None:
    value = arg(name)
    return int(value) if value is not None and value.isdigit() and len(value) < 10 else None


@bp.app_template_global("admin_endpoints")
def admin_endpoints():
    """The endpoints that exist (a template links to a page only once it is built)."""
    return current_app.view_functions


@bp.app_template_global("admin_url_with")
def url_with(**changes) -> str:
    """This page's URL with some query arguments changed (``None`` removes one). Changing
    anything but the page number starts again at page 1."""
    args = request.args.to_dict(flat=True)
    if "page" not in changes:
        args.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)
