"""Admin management of user accounts. Every write is audited in the same transaction."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from nibog.accounts import service
from nibog.accounts.models import Child, User
from nibog.auth.otp import normalise_phone
from nibog.auth.passwords import hash_password
from nibog.booking.models import Booking
from nibog.core import audit
from nibog.core.errors import AppError
from nibog.extensions import db


def users_query(
    q: str | None = None, role: str | None = None, is_active: bool | None = None
) -> Select:
    stmt = select(User).order_by(User.id.desc())
    if q and q.strip():
        # autoescape: a "%" or "_" typed by the admin is a character, not a wildcard.
        term = q.strip().lower()
        stmt = stmt.where(
            or_(
                User.email.contains(term, autoescape=True),
                db.func.lower(User.full_name).contains(term, autoescape=True),
                User.phone.contains(term, autoescape=True),
            )
        )
    if role:
        stmt = stmt.where(User.role == role)
    if is_active is True:
        stmt = stmt.where(User.is_active_account.is_(True), User.deleted_at.is_(None))
    elif is_active is False:
        stmt = stmt.where(or_(User.is_active_account.is_(False), User.deleted_at.is_not(None)))
    return stmt


def user_detail(user_id: int) -> dict:
    """The user with all their children (deleted ones too) and bookings, newest first."""
    user = service.get_user(user_id)
    kids = list(
        db.session.scalars(select(Child).where(Child.user_id == user.id).order_by(Child.id))
    )
    bookings = list(
        db.session.scalars(
            select(Booking).where(Booking.user_id == user.id).order_by(Booking.created_at.desc())
        )
    )
    return {"user": user, "children": kids, "bookings": bookings}


def create_user(data: dict, *, actor_id: int, client_ip: str | None = None) -> User:
    phone = normalise_phone(data["phone"]) if data.get("phone") else None
    password = data.get("password")
    user = service.create_user(
        email=data["email"],
        full_name=data["full_name"],
        password_hash=hash_password(password) if password else None,
        phone=phone,
        role=data.get("role", "parent"),
        is_active=data.get("is_active", True),
    )
    audit.record("user.create", user, actor_id=actor_id, client_ip=client_ip)
    return user


def update_user(user_id: int, data: dict, *, actor_id: int, client_ip: str | None = None) -> User:
    user = service.get_user(user_id)
    if user.deleted_at is not None:
        raise AppError("user_deleted", "This account has been deleted", 409)
    if user.id == actor_id and (
        data.get("role", user.role) != user.role or data.get("is_active") is False
    ):
        # An admin locking themselves out leaves nobody to undo it.
        raise AppError(
            "cannot_modify_self", "You cannot change your own role or deactivate yourself", 409
        )
    before = audit.snapshot(user)
    service.apply_contact_changes(user, data)
    for flag in ("email_verified", "phone_verified"):
        if flag in data:
            setattr(user, flag, data[flag])
    revoke = False
    if "role" in data and data["role"] != user.role:
        user.role = data["role"]
        revoke = True  # tokens carry the role claim; make the change take effect at once
    if "is_active" in data and data["is_active"] != user.is_active_account:
        user.is_active_account = data["is_active"]
        revoke = revoke or not data["is_active"]
    if revoke:
        service.revoke_all_tokens(user)
    db.session.flush()
    audit.record("user.update", user, actor_id=actor_id, before=before, client_ip=client_ip)
    return user


def delete_user(user_id: int, *, actor_id: int, client_ip: str | None = None) -> None:
    user = service.get_user(user_id)
    if user.id == actor_id:
        raise AppError("cannot_modify_self", "Delete your own account from your profile", 409)
    before = audit.snapshot(user)
    service.deactivate_and_anonymise(user)
    audit.record("user.delete", user, actor_id=actor_id, before=before, client_ip=client_ip)
