"""The audit log viewer's list: who changed what, filtered by person, action, record and day."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, or_, select

from nibog.accounts.models import User
from nibog.core.audit import AuditLog
from nibog.core.timeutil import IST
from nibog.extensions import db

AUDIT_SORTS = {"created": AuditLog.created_at, "action": AuditLog.action}


def audit_rows(filters: dict):
    """Rows of (entry, actor's name, actor's e-mail). ``filters``: actor (part of a name or
    e-mail), actor_id, action (a prefix: "booking." gives every booking action), entity_type,
    entity_id, date_from/date_to (days in India)."""
    stmt = select(AuditLog, User.full_name, User.email).outerjoin(User, User.id == AuditLog.actor_id)
    if filters.get("actor_id"):
        stmt = stmt.where(AuditLog.actor_id == filters["actor_id"])
    if filters.get("actor"):
        term = filters["actor"].strip().lower()
        stmt = stmt.where(or_(func.lower(User.email).contains(term, autoescape=True),
                              func.lower(User.full_name).contains(term, autoescape=True)))
    if filters.get("action"):
        stmt = stmt.where(AuditLog.action.startswith(filters["action"].strip(), autoescape=True))
    if filters.get("entity_type"):
        stmt = stmt.where(AuditLog.entity_type == filters["entity_type"])
    if filters.get("entity_id"):
        stmt = stmt.where(AuditLog.entity_id == str(filters["entity_id"]).strip())
    if filters.get("date_from"):
        stmt = stmt.where(AuditLog.created_at >= datetime.combine(filters["date_from"], time(), IST))
    if filters.get("date_to"):
        stmt = stmt.where(AuditLog.created_at
                          < datetime.combine(filters["date_to"] + timedelta(days=1), time(), IST))
    return stmt


def entity_types() -> list[str]:
    return list(db.session.scalars(
        select(AuditLog.entity_type).group_by(AuditLog.entity_type).order_by(AuditLog.entity_type)
    ))
