"""Catalog: an event's add-ons (with variants and stock), gallery and FAQs.

The forms sit on the event page (``events.event_page``); a refusal re-renders that page with the
submitted form's errors and values.
"""

from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _

from nibog.admin.views import bp
from nibog.admin.views import event_forms as ef
from nibog.admin.views.access import ADMIN, actor, allow
from nibog.admin.views.events import back_to, edit_event, event_page, load_event
from nibog.admin.views.forms import attempt
from nibog.catalog import admin_service as svc
from nibog.catalog import event_admin

# -- add-ons ---------------------------------------------------------------------------------


@bp.post("/events/<int:event_id>/addons")
@allow(ADMIN)
def event_addon_add(event_id: int):
    load_event(event_id)
    form = ef.AddOnForm(prefix="newaddon")
    if form.validate_on_submit():
        entry = form.entry()
        if entry is not None:
            refused = edit_event(event_id, {"addons": [entry]})
            if refused is None:
                flash(_("Add-on added."), "success")
                return back_to(event_id, "addons")
            form.refuse(refused)
    return event_page(event_id, status=422, forms={"new_addon": form})


def _addon_ids(event_id: int) -> set[int]:
    return {a.id for a in event_admin.event_addons(event_id)}


@bp.post("/events/<int:event_id>/addons/<int:addon_id>")
@allow(ADMIN)
def event_addon_save(event_id: int, addon_id: int):
    load_event(event_id)
    if addon_id not in _addon_ids(event_id):
        abort(404)
    form = ef.AddOnForm(prefix=f"a{addon_id}")
    if form.validate_on_submit():
        entry = form.entry(addon_id)
        if entry is not None:
            refused = edit_event(event_id, {"addons": [entry]})
            if refused is None:
                flash(_("Add-on saved."), "success")
                return back_to(event_id, f"addon-{addon_id}")
            form.refuse(refused)
    return event_page(event_id, status=422, forms={("addon", addon_id): form})


@bp.post("/events/<int:event_id>/addons/<int:addon_id>/delete")
@allow(ADMIN)
def event_addon_delete(event_id: int, addon_id: int):
    load_event(event_id)
    if addon_id not in _addon_ids(event_id):
        abort(404)
    refused = edit_event(event_id, {"addons": [{"id": addon_id, "delete": True}]})
    flash(refused.message if refused else _("Add-on removed."), "error" if refused else "success")
    return back_to(event_id, "addons")


# -- gallery and FAQs ------------------------------------------------------------------------


@bp.post("/events/<int:event_id>/gallery")
@allow(ADMIN)
def event_image_add(event_id: int):
    load_event(event_id)
    form = ef.GalleryForm(prefix="gallery")
    if form.validate_on_submit():
        refused = attempt(svc.create_event_child, "gallery", event_id, form.data_for_service(),
                          actor())[1]
        if refused is None:
            flash(_("Image added."), "success")
            return back_to(event_id, "gallery")
        form.refuse(refused)
    return event_page(event_id, status=422, forms={"gallery": form})


@bp.post("/events/<int:event_id>/gallery/<int:image_id>/delete")
@allow(ADMIN)
def event_image_delete(event_id: int, image_id: int):
    refused = attempt(svc.delete_event_child, "gallery", event_id, image_id, actor())[1]
    if refused is not None:
        raise refused
    flash(_("Image removed."), "success")
    return back_to(event_id, "gallery")


@bp.post("/events/<int:event_id>/faqs")
@allow(ADMIN)
def event_faq_add(event_id: int):
    load_event(event_id)
    form = ef.FaqForm(prefix="faq")
    if form.validate_on_submit():
        refused = attempt(svc.create_event_child, "faqs", event_id, form.data_for_service(),
                          actor())[1]
        if refused is None:
            flash(_("Question added."), "success")
            return back_to(event_id, "faqs")
        form.refuse(refused)
    return event_page(event_id, status=422, forms={"faq": form})


@bp.post("/events/<int:event_id>/faqs/<int:faq_id>")
@allow(ADMIN)
def event_faq_save(event_id: int, faq_id: int):
    load_event(event_id)
    form = ef.FaqForm(prefix=f"faq{faq_id}")
    if form.validate_on_submit():
        refused = attempt(svc.update_event_child, "faqs", event_id, faq_id,
                          form.data_for_service(), actor())[1]
        if refused is None:
            flash(_("Question saved."), "success")
            return back_to(event_id, "faqs")
        if refused.status == 404:
            raise refused
        form.refuse(refused)
    if faq_id not in {f.id for f in svc.list_event_children("faqs", event_id)}:
        abort(404)
    return event_page(event_id, status=422, forms={("faq", faq_id): form})


@bp.post("/events/<int:event_id>/faqs/<int:faq_id>/delete")
@allow(ADMIN)
def event_faq_delete(event_id: int, faq_id: int):
    refused = attempt(svc.delete_event_child, "faqs", event_id, faq_id, actor())[1]
    if refused is not None:
        raise refused
    flash(_("Question removed."), "success")
    return back_to(event_id, "faqs")
