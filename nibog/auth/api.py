"""/api/auth: register, sign in (password, Google, phone OTP), refresh, logout, passwords,
email verification link."""

from __future__ import annotations

from flask_jwt_extended import get_jwt
from flask_smorest import Blueprint

from nibog.auth import ratelimits as rl
from nibog.auth import schemas as s
from nibog.auth import service, tokens
from nibog.core.auth import auth_required, current_user
from nibog.core.errors import AppError
from nibog.web.link_pages import browser_wants_html, email_link_confirmed, email_link_failed

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign-up and sign-in")


@blp.post("/register")
@blp.arguments(s.RegisterSchema)
@blp.response(201, s.TokenResponseSchema)
@rl.register_per_ip
def register(data):
    user = service.register(**data)
    return tokens.issue_token_pair(user)


@blp.post("/login")
@blp.arguments(s.LoginSchema)
@blp.response(200, s.TokenResponseSchema)
@rl.login_per_ip
@rl.login_per_account
def login(data):
    """Wrong email and wrong password get the same 401 ``invalid_credentials``."""
    user = service.authenticate(data["email"], data["password"])
    return tokens.issue_token_pair(user)


@blp.post("/login/google")
@blp.arguments(s.GoogleLoginSchema)
@blp.response(200, s.TokenResponseSchema)
@rl.login_per_ip
def login_google(data):
    user = service.google_login(data["id_token"])
    return tokens.issue_token_pair(user)


@blp.post("/login/phone")
@blp.arguments(s.PhoneSchema)
@blp.response(202, s.OtpSentSchema)
@rl.otp_request_per_ip
@rl.own_retry_after
def login_phone(data):
    """Sends a 6-digit code by SMS; a new one no sooner than 30 seconds later."""
    service.request_phone_login(data["phone"])
    return {
        "message": "A code has been sent by SMS",
        "expires_in": service.otp.OTP_TTL_SECONDS,
        "resend_after": service.otp.OTP_RESEND_SECONDS,
    }


@blp.post("/login/phone/verify")
@blp.arguments(s.PhoneVerifySchema)
@blp.response(200, s.TokenResponseSchema)
@rl.otp_verify_per_ip
@rl.own_retry_after
def login_phone_verify(data):
    """Creates the account on the first verified login."""
    user = service.verify_phone_login(data["phone"], data["otp"])
    return tokens.issue_token_pair(user)


@blp.post("/refresh")
@auth_required(refresh=True)
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, s.AccessTokenResponseSchema)
def refresh():
    """Send the refresh token as the bearer token; answers a new access token."""
    return tokens.issue_access_token(current_user(), get_jwt()["jti"])


@blp.post("/logout")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(204)
def logout():
    """Revokes this access token and the refresh token issued with it."""
    tokens.revoke_session(get_jwt())
    return None


@blp.put("/change-password")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(s.ChangePasswordSchema)
@blp.response(200, s.TokenResponseSchema)
@rl.login_per_ip
def change_password(data):
    """Every existing token of the user stops working, including the one used for this call;
    the answer carries a fresh pair so this device stays signed in."""
    user = service.change_password(current_user(), data["current_password"], data["new_password"])
    return tokens.issue_token_pair(user)


@blp.post("/forgot-password")
@blp.arguments(s.ForgotPasswordSchema)
@blp.response(202, s.AcceptedSchema)
@rl.forgot_per_ip
@rl.forgot_per_email
def forgot_password(data):
    """Always 202: whether the email has an account is not revealed."""
    service.request_password_reset(data["email"])
    return {"message": "If an account exists for this email, a reset link is on its way"}


@blp.post("/reset-password")
@blp.arguments(s.ResetPasswordSchema)
@blp.response(200, s.TokenResponseSchema)
@rl.forgot_per_ip
def reset_password(data):
    """Sets the new password, signs the user out everywhere else and signs this client in."""
    user = service.reset_password(data["token"], data["password"])
    return tokens.issue_token_pair(user)


@blp.get("/verify-email")
@blp.arguments(s.VerifyEmailArgs, location="query")
@blp.response(200, s.UserSchema)
def verify_email(args):
    """The link emailed by POST /api/users/me/verify-email.

    A browser (HTML preferred over JSON) gets a page saying what happened instead of the JSON
    answer: this is the address a parent's mail app opens (nibog/web/link_pages.py).
    """
    try:
        user = service.confirm_email(args["token"])
    except AppError as exc:
        if not browser_wants_html():
            raise
        return email_link_failed(exc)
    if browser_wants_html():
        return email_link_confirmed(user.email)
    return user
