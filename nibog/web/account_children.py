"""``/account/children``: a parent's children - list, add, edit, remove (``accounts.children``,
the service the API's /api/users/me/children calls)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from nibog.accounts import children as service
from nibog.core.errors import AppError
from nibog.core.timeutil import age_in_months, today_ist
from nibog.web.account import bp, show_error
from nibog.web.account_forms import ChildForm, NextForm


def _data(form: ChildForm) -> dict:
    return {"full_name": form.full_name.data, "date_of_birth": form.date_of_birth.data,
            "gender": form.gender.data or None, "school_name": form.school_name.data or None}


def _list(form: ChildForm, status: int = 200):
    kids = service.list_children(current_user._get_current_object())
    today = today_ist()
    ages = {c.id: age_in_months(c.date_of_birth, today) for c in kids}
    return render_template("web/account/children.html", children=kids, ages=ages,
                           form=form), status


@bp.get("/children")
def children():
    return _list(ChildForm(formdata=None))


@bp.post("/children")
def child_add():
    form = ChildForm()
    if not form.validate():
        return _list(form, 422)
    try:
        child = service.add_child(current_user._get_current_object(), _data(form))
    except AppError as exc:
        show_error(form, exc)
        return _list(form, exc.status)
    flash(_("%(name)s is added. You can now book games for them.", name=child.full_name),
          "success")
    return redirect(url_for("web_account.children"), 303)


def _edit_page(child, form: ChildForm, status: int = 200):
    return render_template("web/account/child_edit.html", child=child, form=form,
                           remove_form=NextForm(formdata=None)), status


@bp.get("/children/<int:child_id>")
def child_edit(child_id: int):
    child = service.get_child(current_user._get_current_object(), child_id)
    return _edit_page(child, ChildForm(formdata=None, obj=child))


@bp.post("/children/<int:child_id>")
def child_update(child_id: int):
    user = current_user._get_current_object()
    child = service.get_child(user, child_id)
    form = ChildForm()
    if not form.validate():
        return _edit_page(child, form, 422)
    try:
        service.update_child(user, child_id, _data(form))
    except AppError as exc:
        show_error(form, exc)
        return _edit_page(child, form, exc.status)
    flash(_("The details of %(name)s are saved.", name=form.full_name.data), "success")
    return redirect(url_for("web_account.children"), 303)


@bp.post("/children/<int:child_id>/remove")
def child_remove(child_id: int):
    user = current_user._get_current_object()
    child = service.get_child(user, child_id)
    try:
        service.delete_child(user, child_id)
    except AppError as exc:
        if exc.code != "child_has_bookings":
            raise
        form = ChildForm(formdata=None, obj=child)
        form.form_errors.append(_(
            "%(name)s has upcoming bookings. Cancel them first, then remove the child.",
            name=child.full_name))
        return _edit_page(child, form, exc.status)
    flash(_("%(name)s is removed from your account.", name=child.full_name), "success")
    return redirect(url_for("web_account.children"), 303)
