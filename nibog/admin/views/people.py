"""People: the accounts list, a parent's page with children and bookings, and the admin's
writes on an account (role, deactivate, reactivate). Staff read; user administration is an
admin's."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import InputRequired

from nibog.accounts import admin_service
from nibog.accounts.models import ROLES, User
from nibog.admin.views import bp
from nibog.admin.views.access import ADMIN, READ, actor, allow
from nibog.admin.views.formkit import apply_error, choices
from nibog.admin.views.listing import arg, list_args, page_of
from nibog.core.errors import AppError

ROLE_LABELS = {"parent": _l("Parent"), "staff": _l("Staff"), "admin": _l("Admin")}
USER_SORTS = {
    "name": User.full_name,
    "email": User.email,
    "created": User.created_at,
    "last_login": User.last_login_at,
}


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices([(r, ROLE_LABELS[r]) for r in ROLES]),
                       validators=[InputRequired()])


@bp.app_template_global("role_label")
def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


@bp.get("/users")
@allow(READ)
def users():
    active = {"1": True, "0": False}.get(arg("active") or "")
    role = arg("role") if arg("role") in ROLES else None
    stmt = admin_service.users_query(arg("q"), role, active).order_by(None)
    args = list_args(USER_SORTS, "created", "desc")
    page = page_of(stmt, USER_SORTS, args, tiebreak=User.id.desc())
    return render_template(
        "admin/people/users.html", page=page,
        roles=[(r, role_label(r)) for r in ROLES],
    )


def _detail_page(user_id: int, *, status: int = 200, role_form: RoleForm | None = None,
                 errors: list[str] | None = None):
    detail = admin_service.user_detail(user_id)
    form = role_form or RoleForm(formdata=None, role=detail["user"].role)
    return render_template("admin/people/user.html", d=detail, role_form=form,
                           errors=errors or []), status


@bp.get("/users/<int:user_id>")
@allow(READ)
def user_detail(user_id: int):
    return _detail_page(user_id)


@bp.post("/users/<int:user_id>/role")
@allow(ADMIN)
def user_role(user_id: int):
    form = RoleForm()
    if not form.validate():
        return _detail_page(user_id, status=422, role_form=form)
    try:
        admin_service.update_user(user_id, {"role": form.role.data}, actor_id=actor().id,
                                  client_ip=actor().ip)
    except AppError as exc:
        errors = apply_error(form, exc, {"role": "role"})
        if exc.code == "cannot_modify_self":
            form.role.errors = [*form.role.errors, *errors]
            errors = []
        return _detail_page(user_id, status=exc.status, role_form=form, errors=errors)
    flash(_("Role changed to %(role)s; it applies from the next click.",
            role=role_label(form.role.data)), "success")
    return redirect(url_for("admin_web.user_detail", user_id=user_id))


def _set_active(user_id: int, active: bool):
    try:
        admin_service.update_user(user_id, {"is_active": active}, actor_id=actor().id,
                                  client_ip=actor().ip)
    except AppError as exc:
        return _detail_page(user_id, status=exc.status, errors=apply_error(None, exc))
    flash(_("Account reactivated.") if active else
          _("Account deactivated: signed out everywhere, and it cannot sign in."), "success")
    return redirect(url_for("admin_web.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/deactivate")
@allow(ADMIN)
def user_deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.post("/users/<int:user_id>/reactivate")
@allow(ADMIN)
def user_reactivate(user_id: int):
    return _set_active(user_id, True)
