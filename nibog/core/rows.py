"""Rows written or locked with Core and handed back as ORM objects of the session.

On the hottest write path (a booking hold: the booking, its items, its notification) flushing new
objects through the unit of work costs about three times the CPU of the same INSERT ... RETURNING
run as a prebuilt Core statement. ``insert_rows`` runs that statement and ``adopt`` turns each
returned row into a clean, persistent object of the session, as if a query had loaded it: later
changes to it flush as UPDATEs like any other, and a commit expires it like any other.

The SQL is the statement a flush would send, so constraints, defaults and triggers behave the
same; what it skips is ORM-level machinery (mapper events, cascades), so use it only for models
that have none on insert. ``load`` does the same for a row read with Core (a locking SELECT):
the session's object for it, refreshed, or a new one.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Insert, inspect
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from nibog.extensions import db

M = TypeVar("M")

_attrs: dict[type, list[tuple[str, str]]] = {}
_managers: dict[type, Any] = {}
_inserts: dict[type, Insert] = {}


def _row_to_attrs(model: type) -> list[tuple[str, str]]:
    """(column key in a RETURNING row, attribute name) for every column of the model's table."""
    pairs = _attrs.get(model)
    if pairs is None:
        mapper = inspect(model)
        pairs = _attrs[model] = [
            (column.key, mapper.get_property_by_column(column).key)
            for column in model.__table__.c
        ]
    return pairs


def adopt(model: type[M], row) -> M:
    """A row of every column (INSERT ... RETURNING, SELECT), as a new object of the session."""
    mapping = row._mapping
    manager = _managers.get(model)
    if manager is None:
        configure_mappers()  # a constructor would have; new_instance needs it done
        manager = _managers[model] = inspect(model).class_manager
    # Built without the constructor and its attribute events, the way a query loads a row:
    # the values go straight into the instance's dict (half the cost of adopting a row).
    obj = manager.new_instance()
    instance_dict(obj).update({attr: mapping[key] for key, attr in _row_to_attrs(model)})
    make_transient_to_detached(obj)
    db.session.add(obj)
    return obj


def insert_rows(model: type[M], values: list[dict[str, Any]]) -> list[M]:
    """INSERT the rows (one statement, RETURNING in order) and adopt them; autoflushes first."""
    if not values:
        return []
    stmt = _inserts.get(model)
    if stmt is None:
        table = model.__table__
        stmt = _inserts[model] = table.insert().returning(
            *table.c, sort_by_parameter_order=True
        )
    return [adopt(model, row) for row in db.session.execute(stmt, values).all()]


def refresh(obj: M, row) -> M:
    """Overwrite a persistent object's values with a row of every column of its table.

    What a query with ``populate_existing`` does to an object it finds in the session, for a
    row read with a Core statement: the values become the committed state (no history).
    """
    mapping = row._mapping
    for key, attr in _row_to_attrs(type(obj)):
        set_committed_value(obj, attr, mapping[key])
    return obj


def load(model: type[M], row) -> M:
    """A row of every column of the model's table, as the session's object for it: the one the
    session holds, refreshed (as ``populate_existing`` would), or a new one adopted."""
    session = db.session()
    obj = session.identity_map.get(session.identity_key(model, row._mapping[_pk_key(model)]))
    return refresh(obj, row) if obj is not None else adopt(model, row)


_pk_keys: dict[type, str] = {}


def _pk_key(model: type) -> str:
    key = _pk_keys.get(model)
    if key is None:
        [column] = inspect(model).primary_key
        key = _pk_keys[model] = column.key
    return key


class Part:
    """The columns of one table in a row that joins several, each column labelled
    ``<prefix><key>``: what ``load``/``adopt`` read for that table's object."""

    def __init__(self, row, prefix: str, table) -> None:
        self._mapping = {c.key: row._mapping[f"{prefix}{c.key}"] for c in table.c}
