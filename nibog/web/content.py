"""Content pages (about, terms, privacy, refund policy, FAQ) and the contact form, from the
content service the API's /api/content, /api/faqs and /api/contact use (cached, sanitised; the
contact form shares the API's rate-limit bucket)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from nibog.content import service
from nibog.content.api import contact_limit
from nibog.core.client_ip import client_ip
from nibog.core.errors import AppError
from nibog.core.i18n import current_language

bp = Blueprint("web_content", __name__)

PAGES = ("about", "terms", "privacy", "refund-policy")


class ContactForm(FlaskForm):
    # The same limits as the API's ContactIn (nibog.content.schemas).
    name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Enter your name.")), Length(min=2, max=120, message=_l(
            "Use 2 to 120 characters."))])
    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Enter your email so we can answer.")),
        Email(_l("Enter an email address like name@example.com."), check_deliverability=False),
        Length(max=254)])
    phone = TelField(_l("Mobile number (optional)"), validators=[
        Optional(), Regexp(r"^\+?[0-9][0-9 -]{6,18}$", message=_l(
            "Enter a phone number with digits only, e.g. 98765 43210."))])
    message = TextAreaField(_l("Your message"), validators=[
        DataRequired(_l("Write your message.")), Length(min=10, max=5000, message=_l(
            "Write at least 10 characters (at most 5,000)."))])


def _page(slug: str):
    try:
        page = service.public_page(slug, current_language(),
                                   current_app.config.get("LANGUAGES", ["en"])[0])
    except AppError as exc:
        if exc.status == 404:
            abort(404)
        raise
    return render_template("web/content/page.html", page=page, slug=slug)


def _register_pages() -> None:
    for slug in PAGES:
        bp.add_url_rule(f"/{slug}", endpoint=slug.replace("-", "_"),
                        view_func=lambda slug=slug: _page(slug))


_register_pages()


@bp.get("/faq")
def faq():
    faqs = service.public_faqs()
    groups: dict[str, list[dict]] = {}
    for f in faqs:
        groups.setdefault(f["category"], []).append(f)
    return render_template("web/content/faq.html", groups=groups)


def _contact_form(*, submitted: bool) -> ContactForm:
    if submitted:
        return ContactForm()
    if current_user.is_authenticated:
        return ContactForm(formdata=None, name=current_user.full_name, email=current_user.email,
                           phone=current_user.phone)
    return ContactForm(formdata=None)


@bp.get("/contact")
def contact():
    return render_template("web/content/contact.html", form=_contact_form(submitted=False))


@bp.post("/contact")
@contact_limit
def contact_submit():
    form = _contact_form(submitted=True)
    if not form.validate():
        return render_template("web/content/contact.html", form=form), 422
    service.submit_contact(
        {"name": form.name.data, "email": form.email.data, "phone": form.phone.data or None,
         "message": form.message.data},
        client_ip(),
    )
    flash(_("Thank you! Your message has reached the NIBOG team; we answer within two working "
            "days."), "success")
    return redirect(url_for("web_content.contact"), 303)
