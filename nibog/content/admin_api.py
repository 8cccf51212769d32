"""Admin content: /api/admin/faqs, /api/admin/testimonials, /api/admin/content/<slug>."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import validate

from nibog.content import schemas as s
from nibog.content import service
from nibog.core.auth import auth_required, current_user
from nibog.core.client_ip import client_ip
from nibog.core.errors import ValidationFailed
from nibog.core.pagination import PageArgsSchema, page_schema, paginate

blp = Blueprint("admin_content", __name__, url_prefix="/api/admin", description="Admin: content")

READ = ("admin", "staff")
_SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,59}$")



def _who() -> tuple[int, str]:
    return current_user().id, client_ip()


def _crud(kind: str, path: str, schema_in, schema_update, schema_out, dump) -> None:
    def list_view(args):
        return paginate(service.admin_list(kind), args["page"], args["per_page"],
                        lambda rows: [dump(o) for o in rows])

    def get_view(obj_id):
        return dump(service.admin_get(kind, obj_id))

    def create_view(data):
        obj = service.admin_create(kind, data, *_who())
        return dump(obj)

    def update_view(data, obj_id):
        obj = service.admin_update(kind, obj_id, data, *_who())
        return dump(obj)

    def delete_view(obj_id):
        service.admin_delete(kind, obj_id, *_who())

    for fn in (list_view, get_view, create_view, update_view, delete_view):
        fn.__name__ = f"{kind}_{fn.__name__}"
    one = f"/{path}/<int:obj_id>"
    page_out = page_schema(schema_out, f"{kind.capitalize()}AdminPage")
    blp.route(f"/{path}", methods=["GET"])(
        auth_required(*READ)(
            blp.arguments(PageArgsSchema, location="query")(blp.response(200, page_out)(list_view))
        )
    )
    blp.route(one, methods=["GET"])(auth_required(*READ)(blp.response(200, schema_out)(get_view)))
    blp.route(f"/{path}", methods=["POST"])(
        auth_required("admin")(blp.arguments(schema_in)(blp.response(201, schema_out)(create_view)))
    )
    blp.route(one, methods=["PUT"])(
        auth_required("admin")(
            blp.arguments(schema_update)(blp.response(200, schema_out)(update_view))
        )
    )
    blp.route(one, methods=["DELETE"])(auth_required("admin")(blp.response(204)(delete_view)))


_crud("faq", "faqs", s.FaqIn, s.FaqUpdate, s.FaqOut, service.faq_dict)
_crud("testimonial", "testimonials", s.TestimonialIn, s.TestimonialUpdate, s.TestimonialOut,
      service.testimonial_dict)


def _slug(slug: str) -> str:
    try:
        _SLUG(slug)
    except Exception:  # noqa: BLE001 - marshmallow ValidationError
        raise ValidationFailed({"slug": ["Lower-case letters, digits and dashes"]}) from None
    return slug


@blp.get("/content")
@auth_required(*READ)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, page_schema(s.PageOut, "ContentPageAdminPage"))
def list_pages(args):
    return paginate(service.list_pages(), args["page"], args["per_page"],
                    lambda rows: [service.page_dict(p) for p in rows])


@blp.get("/content/<string:slug>")
@auth_required(*READ)
@blp.response(200, s.PageOut)
def get_page(slug):
    return service.page_dict(service.get_page(slug))


@blp.put("/content/<string:slug>")
@auth_required("admin")
@blp.arguments(s.PageIn)
@blp.response(200, s.PageOut)
def put_page(data, slug):
    """Create or replace a page (a new page needs a title)."""
    page, _created = service.upsert_page(_slug(slug), data, *_who())
    return service.page_dict(page)


@blp.delete("/content/<string:slug>")
@auth_required("admin")
@blp.response(204)
def delete_page(slug):
    service.delete_page(slug, *_who())
