"""Content: the site's pages (about, terms...), FAQs and testimonials. Everyone on the
dashboard reads them; writing is an admin's, through content.service (which audits)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, InputRequired, Length, NumberRange, Optional, Regexp

from nibog.admin.views import bp
from nibog.admin.views.access import ADMIN, READ, actor, allow
from nibog.admin.views.formkit import apply_error, choices
from nibog.admin.views.listing import arg, list_args, page_of
from nibog.content import service
from nibog.content.models import ContentPage, Faq, Testimonial
from nibog.core.errors import AppError
from nibog.extensions import db


class PageForm(FlaskForm):
    slug = StringField(_l("Address"), validators=[
        InputRequired(), Regexp(r"^[a-z0-9][a-z0-9-]{0,59}$",
                                message=_l("Lower-case letters, digits and dashes"))],
        description=_l("The page lives at /pages/<address>; the site links about, terms, "
                       "privacy and refund-policy."))
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    body_html = TextAreaField(_l("Text (HTML)"), validators=[Optional()])


class FaqForm(FlaskForm):
    question = StringField(_l("Question"), validators=[InputRequired(), Length(max=500)])
    answer = TextAreaField(_l("Answer"), validators=[InputRequired()])
    category = StringField(_l("Category"), default="general",
                           validators=[InputRequired(), Length(max=60)])
    sort_order = IntegerField(_l("Order"), default=0, validators=[Optional()])
    is_published = BooleanField(_l("Published"), default=True)


class TestimonialForm(FlaskForm):
    author_name = StringField(_l("Parent's name"), validators=[InputRequired(), Length(max=120)])
    city_name = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    content = TextAreaField(_l("What they said"), validators=[InputRequired()])
    rating = SelectField(_l("Rating"), choices=choices(
        [("", _l("None")), *[(str(n), str(n)) for n in range(5, 0, -1)]]),
        validators=[Optional()])
    image_url = StringField(_l("Photo address"), validators=[
        Optional(), URL(message=_l("A full address, https://...")), Length(max=500)])
    sort_order = IntegerField(_l("Order"), default=0, validators=[Optional(), NumberRange()])
    is_featured = BooleanField(_l("Featured on the home page"), default=True)
    is_published = BooleanField(_l("Published"), default=True)


def _values(form: FlaskForm) -> dict:
    data = {k: v for k, v in form.data.items() if k != "csrf_token"}
    if "rating" in data:
        data["rating"] = int(data["rating"]) if data["rating"] else None
    if "sort_order" in data and data["sort_order"] is None:
        data["sort_order"] = 0
    for key in ("image_url", "city_name"):
        if key in data:
            data[key] = (data[key] or "").strip() or (None if key == "image_url" else "")
    return data


# ---------------------------------------------------------------- FAQs and testimonials

KINDS = {
    "faq": {"model": Faq, "form": FaqForm, "list": "admin_web.faqs",
            "title": _l("FAQs"), "one": _l("FAQ")},
    "testimonial": {"model": Testimonial, "form": TestimonialForm,
                    "list": "admin_web.testimonials", "title": _l("Testimonials"),
                    "one": _l("Testimonial")},
}
SORTS = {
    "faq": {"order": Faq.sort_order, "question": Faq.question, "category": Faq.category},
    "testimonial": {"order": Testimonial.sort_order, "author": Testimonial.author_name},
}


def _list(kind: str):
    model = KINDS[kind]["model"]
    stmt = service.admin_list(kind).order_by(None)
    if arg("published") in ("1", "0"):
        stmt = stmt.where(model.is_published.is_(arg("published") == "1"))
    if kind == "faq" and arg("category"):
        stmt = stmt.where(Faq.category == arg("category"))
    args = list_args(SORTS[kind], "order", "asc")
    page = page_of(stmt, SORTS[kind], args, tiebreak=model.id)
    return render_template(f"admin/content/{kind}s.html", page=page, kind=kind,
                           meta=KINDS[kind])


def _edit(kind: str, obj_id: int | None):
    meta = KINDS[kind]
    obj = service.admin_get(kind, obj_id) if obj_id is not None else None
    form = meta["form"](obj=obj)
    if kind == "testimonial" and obj is not None and not form.is_submitted():
        form.rating.data = str(obj.rating) if obj.rating else ""
    errors: list[str] = []
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                if obj is None:
                    service.admin_create(kind, _values(form), actor().id, actor().ip)
                else:
                    service.admin_update(kind, obj_id, _values(form), actor().id, actor().ip)
            except AppError as exc:
                errors, status = apply_error(form, exc), exc.status
            else:
                flash(_("Saved."), "success")
                return redirect(url_for(meta["list"]))
        else:
            status = 422
    return render_template("admin/content/edit.html", form=form, obj=obj, kind=kind, meta=meta,
                           errors=errors), status


def _delete(kind: str, obj_id: int):
    service.admin_delete(kind, obj_id, actor().id, actor().ip)
    flash(_("Deleted."), "success")
    return redirect(url_for(KINDS[kind]["list"]))


@bp.get("/faqs")
@allow(READ)
def faqs():
    return _list("faq")


@bp.route("/faqs/new", methods=["GET", "POST"])
@allow(ADMIN)
def faq_new():
    return _edit("faq", None)


@bp.route("/faqs/<int:obj_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def faq_edit(obj_id: int):
    return _edit("faq", obj_id)


@bp.post("/faqs/<int:obj_id>/delete")
@allow(ADMIN)
def faq_delete(obj_id: int):
    return _delete("faq", obj_id)


@bp.get("/testimonials")
@allow(READ)
def testimonials():
    return _list("testimonial")


@bp.route("/testimonials/new", methods=["GET", "POST"])
@allow(ADMIN)
def testimonial_new():
    return _edit("testimonial", None)


@bp.route("/testimonials/<int:obj_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def testimonial_edit(obj_id: int):
    return _edit("testimonial", obj_id)


@bp.post("/testimonials/<int:obj_id>/delete")
@allow(ADMIN)
def testimonial_delete(obj_id: int):
    return _delete("testimonial", obj_id)


# ---------------------------------------------------------------- pages

PAGE_SORTS = {"slug": ContentPage.slug, "title": ContentPage.title,
              "updated": ContentPage.updated_at}


@bp.get("/pages")
@allow(READ)
def pages():
    args = list_args(PAGE_SORTS, "slug", "asc")
    page = page_of(service.list_pages().order_by(None), PAGE_SORTS, args, tiebreak=ContentPage.id)
    return render_template("admin/content/pages.html", page=page,
                           standard=service.STANDARD_PAGES)


def _page_form(slug: str | None):
    page = service.get_page(slug) if slug is not None else None
    form = PageForm(obj=page)
    if page is None and not form.is_submitted():
        form.slug.data = arg("slug") or ""
    errors: list[str] = []
    status = 200
    if form.is_submitted():
        if page is not None:
            form.slug.data = page.slug  # the address of a page does not change
        if form.validate():
            try:
                if page is None and _exists(form.slug.data):
                    form.slug.errors = [_("A page with this address exists already.")]
                    status = 422
                else:
                    service.upsert_page(form.slug.data, {"title": form.title.data,
                                                         "body_html": form.body_html.data or ""},
                                        actor().id, actor().ip)
                    flash(_("Page saved."), "success")
                    return redirect(url_for("admin_web.pages"))
            except AppError as exc:
                errors, status = apply_error(form, exc), exc.status
        else:
            status = 422
    return render_template("admin/content/page_edit.html", form=form, page=page,
                           errors=errors), status


def _exists(slug: str) -> bool:
    from sqlalchemy import select


    return db.session.scalar(select(ContentPage.id).where(ContentPage.slug == slug)) is not None


@bp.route("/pages/new", methods=["GET", "POST"])
@allow(ADMIN)
def page_new():
    return _page_form(None)


@bp.route("/pages/<slug>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def page_edit(slug: str):
    return _page_form(slug)


@bp.post("/pages/<slug>/delete")
@allow(ADMIN)
def page_delete(slug: str):
    service.delete_page(slug, actor().id, actor().ip)
    flash(_("Page deleted."), "success")
    return redirect(url_for("admin_web.pages"))
