"""The contract's page envelope: {items, page, per_page, total, pages}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from nibog.extensions import db

MAX_PER_PAGE = 100
# Far past any real list; without a bound a huge page number overflows the OFFSET (a 500).
MAX_PAGE = 100_000


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def page_schema(item_schema: type[Schema] | Schema, name: str) -> type[Schema]:
    """A response schema for a page of ``item_schema``, named for the OpenAPI document."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
            "pages": fields.Integer(),
        },
        name=name,
    )


def paginate(
    stmt: Select,
    page: int,
    per_page: int,
    transform: Callable[[list], list[Any]] | None = None,
    session=None,
) -> dict:
    session = session or db.session
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return page_envelope(transform(rows) if transform else rows, page, per_page, total)


def page_envelope(items: list, page: int, per_page: int, total: int) -> dict:
    """The envelope for items already fetched (for queries ``paginate`` cannot run)."""
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": (total + per_page - 1) // per_page,
    }
