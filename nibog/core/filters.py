"""Small pieces of the admin lists' and searches' filters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select


def contains_pattern(text: str) -> str:
    """A LIKE pattern (``escape="\\\\"``) matching ``text`` anywhere, its own ``%``, ``_`` and
    backslashes taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def where_equal(stmt: Select, given: dict[str, Any], columns: dict[str, Any]) -> Select:
    """``stmt`` where each column equals the value ``given`` under its key; keys with no (or
    an empty) value do not filter."""
    for key, column in columns.items():
        if given.get(key):
            stmt = stmt.where(column == given[key])
    return stmt
