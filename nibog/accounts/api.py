"""/api/users/me: profile, verification, children and favourites of the signed-in parent."""

from __future__ import annotations

from flask_smorest import Blueprint

from nibog.accounts import children, favorites, service
from nibog.accounts import schemas as s
from nibog.auth import ratelimits as rl
from nibog.auth import service as auth_service
from nibog.auth.schemas import AcceptedSchema, OtpSentSchema
from nibog.core.auth import auth_required, current_user
from nibog.core.pagination import PageArgsSchema, paginate

blp = Blueprint(
    "accounts", __name__, url_prefix="/api/users/me", description="Profile, children, favourites"
)


@blp.get("")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, s.ProfileSchema)
def get_me():
    return current_user()


@blp.put("")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(s.ProfileUpdateSchema)
@blp.response(200, s.ProfileSchema)
def update_me(data):
    """Changing the email or phone clears its verified flag."""
    user = service.update_profile(current_user(), data)
    return user


@blp.delete("")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(204)
def delete_me():
    """Anonymises the account, signs it out everywhere and releases unpaid holds. Paid
    bookings and payments stay (without the personal data) for accounting."""
    service.deactivate_and_anonymise(current_user())


@blp.post("/verify-email")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(202, AcceptedSchema)
@rl.forgot_per_ip
def request_email_verification():
    auth_service.request_email_verification(current_user())
    return {"message": "A verification link is on its way"}


@blp.post("/verify-phone")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(202, OtpSentSchema)
@rl.otp_request_per_ip
@rl.own_retry_after
def request_phone_verification():
    auth_service.request_phone_verification(current_user())
    otp = auth_service.otp
    return {
        "message": "A code has been sent by SMS",
        "expires_in": otp.OTP_TTL_SECONDS,
        "resend_after": otp.OTP_RESEND_SECONDS,
    }


@blp.post("/verify-phone/confirm")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(s.OtpConfirmSchema)
@blp.response(200, s.ProfileSchema)
@rl.otp_verify_per_ip
@rl.own_retry_after
def confirm_phone(data):
    user = auth_service.confirm_phone(current_user(), data["otp"])
    return user


# --- children -----------------------------------------------------------------------------------


@blp.get("/children")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, s.ChildPageSchema)
def list_children(args):
    return paginate(children.children_query(current_user()), args["page"], args["per_page"])


@blp.post("/children")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(s.ChildInputSchema)
@blp.response(201, s.ChildSchema)
def add_child(data):
    child = children.add_child(current_user(), data)
    return child


@blp.get("/children/<int:child_id>")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, s.ChildSchema)
def get_child(child_id):
    return children.get_child(current_user(), child_id)


@blp.put("/children/<int:child_id>")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(s.ChildUpdateSchema)
@blp.response(200, s.ChildSchema)
def update_child(data, child_id):
    child = children.update_child(current_user(), child_id, data)
    return child


@blp.delete("/children/<int:child_id>")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(204)
def delete_child(child_id):
    """409 ``child_has_bookings`` while the child has upcoming confirmed or unpaid bookings."""
    children.delete_child(current_user(), child_id)


# --- favourites ---------------------------------------------------------------------------------


@blp.get("/favorites")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, s.FavoritePageSchema)
def list_favorites(args):
    return paginate(favorites.favorites_query(current_user()), args["page"], args["per_page"])


@blp.post("/favorites/<int:event_id>")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(201, s.FavoriteEventSchema)
def add_favorite(event_id):
    """Idempotent: adding an event twice answers 201 both times and stores it once."""
    favorites.add_favorite(current_user(), event_id)
    return favorites.visible_event(event_id)


@blp.delete("/favorites/<int:event_id>")
@auth_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(204)
def remove_favorite(event_id):
    favorites.remove_favorite(current_user(), event_id)
