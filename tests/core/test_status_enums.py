"""Statuses are Python enums and the database CHECKs list exactly their values."""

from __future__ import annotations

import re

import sqlalchemy as sa

from nibog.extensions import db

QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _enum_checks():
    for table in db.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, sa.CheckConstraint) and "enum" in constraint.info:
                yield table.name, constraint


def _database_checks():
    rows = db.session.execute(sa.text(
        "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE c.contype = 'c' AND n.nspname = current_schema()"
    ))
    return dict(rows.all())


def test_every_status_check_lists_exactly_its_enum_values(app):
    in_database = _database_checks()
    checked = set()
    for table, constraint in _enum_checks():
        name = constraint.name
        assert name in in_database, f"{table}: no CHECK named {name} in the database"
        listed = [v.replace("''", "'") for v in QUOTED.findall(in_database[name])]
        assert listed == [member.value for member in constraint.info["enum"]], name
        checked.add(name)
    assert len(checked) >= 14


def test_no_value_list_check_is_written_by_hand(app):
    """Every CHECK in the database that keeps a column to a list of values is generated from
    an enum (``check_in``), so adding a status means adding an enum member."""
    generated = {constraint.name for _, constraint in _enum_checks()}
    value_lists = {name for name, sql in _database_checks().items() if "= ANY (" in sql}
    assert value_lists and value_lists <= generated, value_lists - generated
