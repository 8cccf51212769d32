"""The overview page and signing out."""

from __future__ import annotations

from flask import redirect, render_template
from flask_login import logout_user

from nibog.admin.views import bp
from nibog.admin.views.access import READ, allow, login_url


@bp.get("/")
@allow(READ)
def dashboard():
    return render_template("admin/dashboard.html")


@bp.post("/sign-out")
@allow(READ)
def sign_out():
    logout_user()
    return redirect(login_url("/admin/").partition("?")[0])
