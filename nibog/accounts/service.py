"""Users: lookup, profile changes, deactivation and anonymisation.

Services flush; the calling view commits (``nibog.core.tx``).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from nibog.accounts.models import Child, User, UserFavorite
from nibog.auth.otp import normalise_phone
from nibog.auth.passwords import verify_password
from nibog.booking.models import Booking
from nibog.catalog.models import City
from nibog.core import signals
from nibog.core.errors import Conflict, NotFound, ValidationFailed
from nibog.core.i18n import current_language, languages
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import clear_suppression

ANONYMISED_NAME = "Deleted user"
_TAKEN = {
    "email": ("email_taken", "An account with this email already exists"),
    "phone": ("phone_taken", "An account with this phone number already exists"),
}


def normalise_email(raw: str) -> str:
    return (raw or "").strip().lower()


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("User")
    return user


def find_by_email(email: str) -> User | None:
    email = normalise_email(email)
    if not email:
        return None
    return db.session.scalar(select(User).where(User.email == email))


def find_by_phone(phone: str) -> User | None:
    return db.session.scalar(select(User).where(User.phone == phone))


def ensure_email_free(email: str, *, exclude_user_id: int | None = None) -> None:
    other = find_by_email(email)
    if other is not None and other.id != exclude_user_id:
        raise Conflict(*_TAKEN["email"])


def ensure_phone_free(phone: str, *, exclude_user_id: int | None = None) -> None:
    other = find_by_phone(phone)
    if other is not None and other.id != exclude_user_id:
        raise Conflict(*_TAKEN["phone"])


def flush_unique(user: User) -> None:
    """Flush, turning a lost uniqueness race into the same 409 the pre-check gives."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        for field in ("phone", "email"):
            if field in text:
                raise Conflict(*_TAKEN[field]) from None
        raise


def create_user(
    *,
    email: str | None,
    full_name: str,
    password_hash: str | None = None,
    phone: str | None = None,
    role: str = "parent",
    email_verified: bool = False,
    phone_verified: bool = False,
    google_sub: str | None = None,
    is_active: bool = True,
    language: str | None = None,
) -> User:
    """``language``: of the account's e-mails and SMS; by default the one the person is reading
    the site or app in right now (English outside a request)."""
    email = normalise_email(email) if email else None
    if email:
        ensure_email_free(email)
    if phone:
        ensure_phone_free(phone)
    user = User(
        email=email,
        phone=phone,
        full_name=full_name.strip(),
        password_hash=password_hash,
        role=role,
        email_verified=email_verified,
        phone_verified=phone_verified,
        google_sub=google_sub,
        is_active_account=is_active,
        token_version=0,
        language=check_language(language or current_language()),
    )
    db.session.add(user)
    flush_unique(user)
    return user


def check_language(language: str) -> str:
    """A language the platform speaks (config LANGUAGES), or 422 on ``language``."""
    if language not in languages():
        raise ValidationFailed({"language": ["Choose one of: " + ", ".join(languages())]})
    return language


def apply_contact_changes(user: User, changes: dict) -> dict[str, bool]:
    """Set email/phone/name/city/language from ``changes`` (already validated shapes).

    A new email or phone is unverified until proven again. Returns which contact changed.
    """
    changed = {"email": False, "phone": False}
    if "full_name" in changes:
        user.full_name = changes["full_name"].strip()
    if "email" in changes:
        if changes["email"] is None:
            raise ValidationFailed({"email": ["Email cannot be removed"]})
        email = normalise_email(changes["email"])
        if email != user.email:
            ensure_email_free(email, exclude_user_id=user.id)
            user.email = email
            user.email_verified = False
            changed["email"] = True
            # A parent who (re)enters an address that bounced says the mailbox works now.

            clear_suppression(email)
    if "phone" in changes:
        phone = normalise_phone(changes["phone"]) if changes["phone"] else None
        if phone != user.phone:
            if phone:
                ensure_phone_free(phone, exclude_user_id=user.id)
            user.phone = phone
            user.phone_verified = False
            changed["phone"] = True
    if "city_id" in changes:
        city_id = changes["city_id"]
        if city_id is not None:
            if db.session.get(City, city_id) is None:
                raise ValidationFailed({"city_id": ["Unknown city"]})
        user.city_id = city_id
    if "language" in changes:
        user.language = check_language(changes["language"])
    flush_unique(user)
    return changed


def update_profile(user: User, changes: dict) -> User:
    apply_contact_changes(user, changes)
    return user


def close_account(user: User, password: str | None) -> int:
    """A parent deletes their own account (the site): the password, when the account has one,
    proves it is them at the keyboard. Then as ``deactivate_and_anonymise``."""
    if user.password_hash and not verify_password(user.password_hash, password or ""):
        raise ValidationFailed({"password": ["Your password is not right"]})
    return deactivate_and_anonymise(user)


def revoke_all_tokens(user: User) -> None:
    """Every token issued so far carries the old version and stops working at once."""
    user.token_version = (user.token_version or 0) + 1


def deactivate_and_anonymise(user: User) -> int:
    """Account deletion: personal data goes, paid bookings and payments stay for accounting.

    Returns how many unpaid holds were released.
    """
    user.email = None
    user.phone = None
    user.full_name = ANONYMISED_NAME
    user.password_hash = None
    user.google_sub = None
    user.email_verified = False
    user.phone_verified = False
    user.marketing_opt_in = False
    user.city_id = None
    user.is_active_account = False
    if user.deleted_at is None:
        user.deleted_at = utcnow()
    revoke_all_tokens(user)
    db.session.execute(
        update(Child)
        .where(Child.user_id == user.id)
        .values(
            full_name="Deleted child",
            school_name=None,
            gender=None,
            deleted_at=db.func.coalesce(Child.deleted_at, utcnow()),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(UserFavorite).where(UserFavorite.user_id == user.id))
    # Guest bookings attached to the account carry the guest's own name, address and phone.

    db.session.execute(
        update(Booking)
        .where(Booking.user_id == user.id, Booking.guest_email.is_not(None))
        .values(guest_name=None, guest_email=None, guest_phone=None)
        .execution_options(synchronize_session=False)
    )
    # The message log keeps what was sent and when (support's history), not to whom.

    db.session.execute(
        update(NotificationLog)
        .where(NotificationLog.user_id == user.id)
        .values(recipient="[deleted]")
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return _release_unpaid_holds(user.id)


def _release_unpaid_holds(user_id: int) -> int:
    # The booking engine (above this module) receives it: release_unpaid_holds_for_user.
    return sum(signals.account_closed.send(user_id))
