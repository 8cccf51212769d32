"""Where each face's blueprints live. ``create_app`` registers every module listed here.

("api", path): flask-smorest blueprints, documented in /api/openapi.json.
("web", path): plain Flask blueprints (health, HTML pages, sandbox checkout).
A listed module that does not exist yet is skipped; one that exists but fails to import fails
the app, loudly.
"""

BLUEPRINTS: list[tuple[str, str]] = [
    ("web", "nibog.core.health:bp"),
    ("api", "nibog.auth.api:blp"),
    ("api", "nibog.accounts.api:blp"),
    ("api", "nibog.accounts.admin_api:blp"),
    ("api", "nibog.catalog.api:blp"),
    ("api", "nibog.catalog.admin_api:blp"),
    ("api", "nibog.catalog.promo_admin_api:blp"),
    ("api", "nibog.content.api:blp"),
    ("api", "nibog.content.admin_api:blp"),
    ("api", "nibog.booking.api:blp"),
    ("api", "nibog.booking.waitlist_api:blp"),
    ("api", "nibog.booking.reviews_api:blp"),
    ("api", "nibog.booking.admin_api:blp"),
    ("api", "nibog.payments.api:blp"),
    ("api", "nibog.payments.webhooks:blp"),
    ("web", "nibog.payments.sandbox_views:bp"),
    ("api", "nibog.notifications.webhooks:blp"),
    ("api", "nibog.integrations.webhooks:blp"),
    ("api", "nibog.documents.api:blp"),
    ("api", "nibog.admin.api:blp"),
    ("web", "nibog.web.views:bp"),
    ("web", "nibog.web.password_reset:bp"),
    ("web", "nibog.web.prefs:bp"),
    ("web", "nibog.web.auth:bp"),
    ("web", "nibog.web.booking:bp"),
    ("web", "nibog.web.checkout:bp"),
    ("web", "nibog.web.waitlist:bp"),
    ("web", "nibog.web.guest:bp"),
    ("web", "nibog.admin.views:bp"),
]
