"""Audit log: who changed what, when, with the state before and after.

Infrastructure below every feature (it imports none): any service records its change here, in
the same transaction, so the audit log never makes one feature depend on another.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column

from nibog.core.db_types import JSONType, UTCDateTime
from nibog.extensions import db


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(60), nullable=False)
    entity_id: Mapped[str | None] = mapped_column(String(60))
    before: Mapped[dict | None] = mapped_column(JSONType)
    after: Mapped[dict | None] = mapped_column(JSONType)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=db.func.current_timestamp(), index=True
    )


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
