"""Site content: FAQs, testimonials, pages and contact messages (public reads + admin writes)."""

from __future__ import annotations

import json
from typing import Any

import nh3
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from nibog.content.models import ContactMessage, ContactStatus, ContentPage, Faq, Testimonial
from nibog.core import cache as core_cache
from nibog.core.audit import record, snapshot
from nibog.core.errors import NotFound, ValidationFailed
from nibog.core.timeutil import isoformat_ist
from nibog.extensions import db
from nibog.notifications.service import queue_email

NAMESPACE = "content"
CONTENT_TTL = 300
# The slugs the site links to; admins may add others.
STANDARD_PAGES = ("about", "terms", "privacy", "refund-policy")


def _invalidate() -> None:
    core_cache.invalidate_after_commit(NAMESPACE)


def faq_dict(f: Faq) -> dict:
    return {"id": f.id, "question": f.question, "answer": f.answer, "category": f.category,
            "sort_order": f.sort_order, "is_published": f.is_published}


def testimonial_dict(t: Testimonial) -> dict:
    return {"id": t.id, "author_name": t.author_name, "city_name": t.city_name,
            "content": t.content, "rating": t.rating, "image_url": t.image_url,
            "is_featured": t.is_featured, "is_published": t.is_published,
            "sort_order": t.sort_order}


def page_dict(p: ContentPage) -> dict:
    return {"slug": p.slug, "title": p.title, "body_html": p.body_html,
            "updated_at": isoformat_ist(p.updated_at)}


# -- public ----------------------------------------------------------------------------------


def public_faqs_json(category: str | None) -> str:
    def build():
        stmt = select(Faq).where(Faq.is_published.is_(True)).order_by(Faq.sort_order, Faq.id)
        if category:
            stmt = stmt.where(Faq.category == category)
        return [{k: v for k, v in faq_dict(f).items() if k != "is_published"}
                for f in db.session.scalars(stmt)]

    return core_cache.cached_json(NAMESPACE, "faqs", {"c": category}, CONTENT_TTL, build)


def public_testimonials_json(featured_only: bool) -> str:
    def build():
        stmt = (select(Testimonial).where(Testimonial.is_published.is_(True))
                .order_by(Testimonial.sort_order, Testimonial.id))
        if featured_only:
            stmt = stmt.where(Testimonial.is_featured.is_(True))
        return [testimonial_dict(t) for t in db.session.scalars(stmt)]

    return core_cache.cached_json(
        NAMESPACE, "testimonials", {"f": featured_only}, CONTENT_TTL, build
    )


def public_page_json(slug: str) -> str:
    """A page as the public sees it: its HTML cleaned of scripts, event handlers and
    ``javascript:`` links (staff write it; a stolen staff account must not reach parents)."""

    def build():
        page = db.session.scalar(select(ContentPage).where(ContentPage.slug == slug))
        if page is None:
            return None
        return {**page_dict(page), "body_html": nh3.clean(page.body_html or "")}

    text = core_cache.cached_json(NAMESPACE, "page", {"s": slug}, CONTENT_TTL, build)
    if text == "null":
        raise NotFound("Page")
    return text


def public_page(slug: str, language: str, default_language: str = "en") -> dict:
    """A page in the reader's language when staff wrote one (slug ``about-hi`` for Hindi),
    else the page itself; 404 when neither exists. A new language needs pages, not code."""
    if language != default_language:
        try:
            return json.loads(public_page_json(f"{slug}-{language}"))
        except NotFound:
            pass
    return json.loads(public_page_json(slug))


def public_faqs(category: str | None = None) -> list[dict]:
    return json.loads(public_faqs_json(category))


def submit_contact(data: dict, client_ip: str | None) -> ContactMessage:
    """Store the message and tell staff (email queued after the commit)."""
    msg = ContactMessage(
        name=data["name"].strip(), email=data["email"].strip().lower(),
        phone=(data.get("phone") or "").strip() or None, message=data["message"].strip(),
        client_ip=client_ip,
    )
    db.session.add(msg)
    db.session.flush()
    queue_email(
        "contact_message",
        current_app.config["STAFF_NOTIFY_EMAIL"],
        {"contact_message_id": msg.id, "name": msg.name, "email": msg.email,
         "phone": msg.phone or "", "message": msg.message},
    )
    return msg


# -- admin -----------------------------------------------------------------------------------

_MODELS = {"faq": Faq, "testimonial": Testimonial}


def admin_list(kind: str):
    """The admin's list, as a statement to page through."""
    model = _MODELS[kind]
    return select(model).order_by(model.sort_order, model.id)


def admin_get(kind: str, obj_id: int):
    obj = db.session.get(_MODELS[kind], obj_id)
    if obj is None:
        raise NotFound(kind.capitalize())
    return obj


def admin_create(kind: str, data: dict[str, Any], actor_id: int, ip: str | None):
    obj = _MODELS[kind](**data)
    db.session.add(obj)
    db.session.flush()
    record(f"{kind}.create", obj, actor_id=actor_id, client_ip=ip)
    _invalidate()
    return obj


def admin_update(kind: str, obj_id: int, data: dict[str, Any], actor_id: int, ip: str | None):
    obj = admin_get(kind, obj_id)
    before = snapshot(obj)
    for key, value in data.items():
        setattr(obj, key, value)
    db.session.flush()
    record(f"{kind}.update", obj, actor_id=actor_id, before=before, client_ip=ip)
    _invalidate()
    return obj


def admin_delete(kind: str, obj_id: int, actor_id: int, ip: str | None) -> None:
    obj = admin_get(kind, obj_id)
    before = snapshot(obj)
    model = _MODELS[kind]
    db.session.execute(delete(model).where(model.id == obj_id))
    db.session.expunge(obj)
    record(f"{kind}.delete", None, actor_id=actor_id, before=before,
           entity_type=model.__tablename__, entity_id=obj_id, client_ip=ip)
    _invalidate()


def list_pages():
    """Every content page, as a statement to page through."""
    return select(ContentPage).order_by(ContentPage.slug)


def get_page(slug: str) -> ContentPage:
    page = db.session.scalar(select(ContentPage).where(ContentPage.slug == slug))
    if page is None:
        raise NotFound("Page")
    return page


def _locked_page(slug: str) -> ContentPage | None:
    return db.session.scalar(select(ContentPage).where(ContentPage.slug == slug).with_for_update())


def upsert_page(slug: str, data: dict, actor_id: int, ip: str | None) -> tuple[ContentPage, bool]:
    page = _locked_page(slug)
    created = page is None
    if created:
        if "title" not in data:
            raise ValidationFailed({"title": ["A new page needs a title"]})
        try:
            with db.session.begin_nested():
                page = ContentPage(slug=slug, **data)
                db.session.add(page)
        except IntegrityError:
            # Another admin created this slug since our read (there was no row to lock): their
            # page exists now, so this PUT updates it, as it would have a moment later.
            page = _locked_page(slug)
            if page is None:
                raise
            created = False
    before = None if created else snapshot(page)
    if not created:
        for key, value in data.items():
            setattr(page, key, value)
    db.session.flush()
    db.session.refresh(page)  # updated_at comes from the database
    record("content_page.create" if created else "content_page.update", page,
           actor_id=actor_id, before=before, client_ip=ip)
    _invalidate()
    return page, created


def delete_page(slug: str, actor_id: int, ip: str | None) -> None:
    page = get_page(slug)
    before = snapshot(page)
    db.session.execute(delete(ContentPage).where(ContentPage.id == page.id))
    db.session.expunge(page)
    record("content_page.delete", None, actor_id=actor_id, before=before,
           entity_type="content_pages", entity_id=page.id, client_ip=ip)
    _invalidate()


# -- contact messages ---------------------------------------------------------------------------

CONTACT_STATUSES = (ContactStatus.NEW, ContactStatus.HANDLED)


def contact_messages(status: str | None = None, q: str | None = None):
    """The contact form's messages, as a statement to page through."""
    stmt = select(ContactMessage)
    if status:
        stmt = stmt.where(ContactMessage.status == status)
    if q and q.strip():
        term = q.strip().lower()
        from sqlalchemy import func, or_

        stmt = stmt.where(or_(
            func.lower(ContactMessage.email).contains(term, autoescape=True),
            func.lower(ContactMessage.name).contains(term, autoescape=True),
        ))
    return stmt


def set_contact_status(msg_id: int, status: str, actor_id: int, ip: str | None) -> ContactMessage:
    """``handled``: someone replied to the sender (or nothing was needed); ``new`` reopens it."""
    if status not in CONTACT_STATUSES:
        raise ValidationFailed({"status": [f"One of {', '.join(CONTACT_STATUSES)}"]})
    msg = db.session.get(ContactMessage, msg_id)
    if msg is None:
        raise NotFound("Message")
    before = snapshot(msg)
    msg.status = status
    db.session.flush()
    record("contact_message.replied" if status == ContactStatus.HANDLED else "contact_message.reopen", msg,
           actor_id=actor_id, before=before, client_ip=ip)
    return msg
