"""Sign-up and sign-in: password, Google, phone OTP; password change and reset; verification.

Services flush; the view commits. Messages go through ``nibog.notifications.service`` and leave
only after the commit.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import select

from nibog.accounts import service as accounts
from nibog.accounts.models import User
from nibog.auth import google, otp, tokens
from nibog.auth.passwords import hash_password, needs_rehash, verify_password
from nibog.core import locking, signals
from nibog.core.errors import AppError, ValidationFailed
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.notifications import service as notifications

INVALID_CREDENTIALS = "Email or password is incorrect"
OTP_LOGIN = "login"
OTP_PHONE_VERIFY = "verify"


def _link(path: str, **params: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}{path}?{urlencode(params)}"


def _load_user(user_id) -> User | None:
    return db.session.get(User, user_id) if isinstance(user_id, int) else None


def _logged_in(user: User, checked_password_hash: str | None = None) -> User:
    """Lock the account row until the sign-in commits, and refuse if it changed meanwhile.

    A reset or a deactivation committing while the sign-in checked (argon2 is slow on purpose)
    would otherwise see its new token version on the tokens this sign-in mints. Under the lock
    the sign-in sees the row as it is now: still active, still the password it checked
    (``checked_password_hash``, password sign-in only). The view mints the tokens before its
    commit, so they carry the version read here; a change after that bumps past them.
    """
    locked = db.session.scalar(
        select(User).where(User.id == user.id).with_for_update()
        .execution_options(populate_existing=True)
    ) if locking.guards.sign_in_lock else user  # unguarded (tests only): the row as first read
    if locked is None or not locked.is_active or (
        checked_password_hash is not None and locked.password_hash != checked_password_hash
    ):
        raise AppError("invalid_credentials", INVALID_CREDENTIALS, 401)
    user.last_login_at = utcnow()
    db.session.flush()
    return user


# --- password accounts --------------------------------------------------------------------------


def register(*, email: str, password: str, full_name: str, phone: str | None = None) -> User:
    phone = otp.normalise_phone(phone) if phone else None
    user = accounts.create_user(
        email=email, full_name=full_name, password_hash=hash_password(password), phone=phone
    )
    notifications.queue_email(
        "welcome", user.email, {"full_name": user.full_name, "user_id": user.id}, user_id=user.id
    )
    return _logged_in(user)


def authenticate(email: str, password: str) -> User:
    """The user for these credentials, or 401 with one message for every kind of failure.

    An unknown email still runs a full hash verification, so the answer takes as long.
    """
    user = accounts.find_by_email(email)
    checked = user.password_hash if user else None
    ok = verify_password(checked, password)
    if not ok or user is None or not user.is_active:
        raise AppError("invalid_credentials", INVALID_CREDENTIALS, 401)
    _logged_in(user, checked_password_hash=checked)
    # Under the row lock, so a new password set meanwhile is never overwritten with the old.
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.flush()
    return user


def change_password(user: User, current_password: str, new_password: str) -> User:
    """Revokes every token of the user (the view hands the caller a fresh pair)."""
    if not verify_password(user.password_hash, current_password):
        raise AppError("invalid_credentials", "Current password is incorrect", 401)
    if current_password == new_password:
        raise ValidationFailed({"new_password": ["Choose a password you have not used here"]})
    user.password_hash = hash_password(new_password)
    accounts.revoke_all_tokens(user)
    db.session.flush()
    return user


def request_password_reset(email: str) -> None:
    """Emails a reset link if the account exists; the caller answers 202 either way."""
    user = accounts.find_by_email(email)
    if user is None or not user.is_active:
        return
    link = _link("/reset-password", token=tokens.make_reset_token(user))
    notifications.queue_email(
        "password_reset",
        user.email,
        {"full_name": user.full_name, "reset_url": link, "expires_minutes": 60},
        user_id=user.id,
    )


def check_reset_link(token: str) -> None:
    """Refuses (``invalid_token``) a reset link that can no longer set a password, before the
    parent types one; ``reset_password`` checks it again."""
    tokens.check_reset_token(token, _load_user)


def _hand_over_to_mailbox_owner(user: User) -> bool:
    """The account's address was never proved and now its owner proves it (a Google sign-in,
    a reset link). Whoever put the address there may not own it - anyone can type someone
    else's address into a profile - so every way in they set up goes: password, Google link and
    the phone's proof (the caller also ends every session). The mailbox owner gets the account.
    True when it did (the address was unproven)."""
    if user.email_verified:
        return False
    user.password_hash = None
    user.google_sub = None
    user.phone_verified = False
    return True


def _lock_user(user_id) -> User | None:
    """The account row, locked until the transaction ends (fresh values)."""
    if not isinstance(user_id, int):
        return None
    return db.session.scalar(
        locking.for_update(select(User).where(User.id == user_id), "reset_lock")
        .execution_options(populate_existing=True)
    )


def reset_password(token: str, new_password: str) -> User:
    # Checked under the account's row lock: the same link used twice at once, the second
    # waits and then finds the password (the link's fingerprint) changed - one reset, not two.
    user = tokens.check_reset_token(token, _lock_user)
    locking.pause("reset_checked")
    _hand_over_to_mailbox_owner(user)
    user.password_hash = hash_password(new_password)
    # Whoever knew the old password is signed out everywhere; the link is spent with it.
    accounts.revoke_all_tokens(user)
    # Receiving the link proves the mailbox.
    user.email_verified = True
    _claim_guest_bookings(user)
    return _logged_in(user)


# --- email and phone verification ---------------------------------------------------------------


def request_email_verification(user: User) -> None:
    if not user.email:
        raise ValidationFailed({"email": ["Add an email address first"]})
    if user.email_verified:
        raise AppError("already_verified", "Your email address is already verified", 409)
    link = _link("/api/auth/verify-email", token=tokens.make_verify_email_token(user))
    notifications.queue_email(
        "verify_email",
        user.email,
        {"full_name": user.full_name, "verify_url": link},
        user_id=user.id,
    )


def confirm_email(token: str) -> User:
    user = tokens.check_verify_email_token(token, _load_user)
    user.email_verified = True
    _claim_guest_bookings(user)
    db.session.flush()
    return user


def _claim_guest_bookings(user: User) -> None:
    """Guest bookings made with this address join the account once it has proven the mailbox
    (the booking engine receives ``signals.email_verified``).

    Not at registration: anyone can type someone else's address into a sign-up form.
    """
    signals.email_verified.send(user)


def request_phone_verification(user: User) -> None:
    if not user.phone:
        raise ValidationFailed({"phone": ["Add a phone number first"]})
    if user.phone_verified:
        raise AppError("already_verified", "Your phone number is already verified", 409)
    code = otp.issue_code(OTP_PHONE_VERIFY, user.phone)
    notifications.queue_sms(
        "phone_verify_otp",
        user.phone,
        {"otp": code, "expires_minutes": otp.OTP_TTL_SECONDS // 60},
        user_id=user.id,
    )


def confirm_phone(user: User, code: str) -> User:
    if not user.phone:
        raise ValidationFailed({"phone": ["Add a phone number first"]})
    otp.check_code(OTP_PHONE_VERIFY, user.phone, code)
    user.phone_verified = True
    db.session.flush()
    return user


# --- phone OTP sign-in --------------------------------------------------------------------------


def request_phone_login(raw_phone: str) -> str:
    """Sends a login code to the number (whether or not an account exists yet)."""
    phone = otp.normalise_phone(raw_phone)
    code = otp.issue_code(OTP_LOGIN, phone)
    user = accounts.find_by_phone(phone)
    notifications.queue_sms(
        "login_otp",
        phone,
        {"otp": code, "expires_minutes": otp.OTP_TTL_SECONDS // 60},
        user_id=user.id if user else None,
    )
    return phone


def verify_phone_login(raw_phone: str, code: str) -> User:
    phone = otp.normalise_phone(raw_phone)
    otp.check_code(OTP_LOGIN, phone, code)
    user = accounts.find_by_phone(phone)
    if user is not None and not user.phone_verified:
        # The number sits, unproven, on someone's account; whoever just proved they hold it
        # owns it. The other account keeps its email/password sign-in.
        user.phone = None
        db.session.flush()
        user = None
    if user is None:
        user = accounts.create_user(email=None, full_name="", phone=phone, phone_verified=True)
    if not user.is_active:
        raise AppError("invalid_credentials", "This account is not active", 401)
    return _logged_in(user)


# --- Google sign-in -----------------------------------------------------------------------------


def google_login(id_token: str) -> User:
    """Find the user by Google subject, else by verified email (linking), else create one."""
    claims = google.verify_id_token(id_token)
    sub = str(claims["sub"])
    email = accounts.normalise_email(claims.get("email") or "")
    email_verified = bool(claims.get("email_verified")) and bool(email)
    user = db.session.scalar(db.select(User).where(User.google_sub == sub))
    if user is None and email_verified:
        user = accounts.find_by_email(email)
        if user is not None and user.is_active:
            if _hand_over_to_mailbox_owner(user):
                accounts.revoke_all_tokens(user)
            user.google_sub = sub
            user.email_verified = True
    if user is None:
        user = accounts.create_user(
            email=email if email_verified else None,
            full_name=(claims.get("name") or "")[:120],
            email_verified=email_verified,
            google_sub=sub,
        )
        if user.email:
            notifications.queue_email(
                "welcome",
                user.email,
                {"full_name": user.full_name, "user_id": user.id},
                user_id=user.id,
            )
    if not user.is_active:
        raise AppError("invalid_credentials", "This account is not active", 401)
    if email_verified and user.email == email:
        _claim_guest_bookings(user)  # Google vouches for the mailbox
    return _logged_in(user)
