"""/api/admin/users: staff may read; only admins write. Writes are audited."""

from __future__ import annotations

from flask_smorest import Blueprint

from nibog.accounts import admin_service
from nibog.accounts import schemas as s
from nibog.core.auth import auth_required, current_user
from nibog.core.client_ip import client_ip
from nibog.core.pagination import paginate

blp = Blueprint(
    "admin_users", __name__, url_prefix="/api/admin/users", description="Admin: user accounts"
)


@blp.get("")
@auth_required("admin", "staff")
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(s.AdminUserListArgs, location="query")
@blp.response(200, s.AdminUserPageSchema)
def list_users(args):
    """Search ``q`` matches email, name or phone; filter by ``role`` and ``is_active``."""
    stmt = admin_service.users_query(args.get("q"), args.get("role"), args.get("is_active"))
    return paginate(stmt, args["page"], args["per_page"])


@blp.get("/<int:user_id>")
@auth_required("admin", "staff")
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, s.AdminUserDetailSchema)
def get_user(user_id):
    detail = admin_service.user_detail(user_id)
    body = s.AdminUserSchema().dump(detail["user"])
    body["children"] = s.AdminChildSchema(many=True).dump(detail["children"])
    body["bookings"] = s.AdminBookingSummarySchema(many=True).dump(detail["bookings"])
    return _as_json(body)


@blp.post("")
@auth_required("admin")
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(s.AdminUserCreateSchema)
@blp.response(201, s.AdminUserSchema)
def create_user(data):
    user = admin_service.create_user(data, actor_id=current_user().id, client_ip=client_ip())
    return user


@blp.put("/<int:user_id>")
@auth_required("admin")
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(s.AdminUserUpdateSchema)
@blp.response(200, s.AdminUserSchema)
def update_user(data, user_id):
    user = admin_service.update_user(
        user_id, data, actor_id=current_user().id, client_ip=client_ip()
    )
    return user


@blp.delete("/<int:user_id>")
@auth_required("admin")
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(204)
def delete_user(user_id):
    """Deactivates and anonymises; bookings and payments stay for accounting."""
    admin_service.delete_user(user_id, actor_id=current_user().id, client_ip=client_ip())


def _as_json(body: dict):
    # Already dumped (children and bookings are separate queries); skip a second dump.
    from flask import jsonify

    return jsonify(body)
