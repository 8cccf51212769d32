"""Audit log: who changed what, when, with the state before and after."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import inspect as sa_inspect

from nibog.admin.models import AuditLog
from nibog.extensions import db


def snapshot(obj: Any) -> dict[str, Any] | None:
    """Column values of a model instance as JSON-safe values (for before/after)."""
    if obj is None:
        return None
    out: dict[str, Any] = {}
    for attr in sa_inspect(obj).mapper.column_attrs:
        value = getattr(obj, attr.key)
        if isinstance(value, (datetime, date, time)):
            value = value.isoformat()
        out[attr.key] = value
    out.pop("password_hash", None)
    return out


def record(
    action: str,
    entity: Any = None,
    *,
    actor_id: int | None,
    entity_type: str | None = None,
    entity_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    client_ip: str | None = None,
) -> AuditLog:
    """Add an audit row to the current transaction (it commits with the change it describes)."""
    if entity is not None:
        entity_type = entity_type or entity.__tablename__
        entity_id = entity_id if entity_id is not None else getattr(entity, "id", None)
        if after is None:
            after = snapshot(entity)
    row = AuditLog(
        actor_id=actor_id,
        action=action,
        entity_type=entity_type or "unknown",
        entity_id=str(entity_id) if entity_id is not None else None,
        before=before,
        after=after,
        client_ip=client_ip,
    )
    db.session.add(row)
    return row
