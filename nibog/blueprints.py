"""Every face's blueprints, imported explicitly: a missing or misspelt module fails start-up.

API blueprints (flask-smorest) are documented in /api/openapi.json; page blueprints (health,
HTML pages, sandbox checkout) are plain Flask ones.
"""

from __future__ import annotations

from nibog.accounts import admin_api as accounts_admin_api
from nibog.accounts import api as accounts_api
from nibog.admin import api as admin_api
from nibog.admin import views as admin_views
from nibog.auth import api as auth_api
from nibog.booking import api as booking_api
from nibog.booking.admin import api as booking_admin_api
from nibog.catalog import admin_api as catalog_admin_api
from nibog.catalog import api as catalog_api
from nibog.catalog import promo_admin_api
from nibog.content import admin_api as content_admin_api
from nibog.content import api as content_api
from nibog.core import health
from nibog.documents import api as documents_api
from nibog.integrations import webhooks as partner_webhooks
from nibog.notifications import webhooks as notification_webhooks
from nibog.ops import scrape
from nibog.payments import api as payments_api
from nibog.payments import sandbox_views
from nibog.payments import webhooks as payment_webhooks
from nibog.reviews import api as reviews_api
from nibog.waitlist import api as waitlist_api
from nibog.web import account as web_account
from nibog.web import auth as web_auth
from nibog.web import booking as web_booking
from nibog.web import checkout as web_checkout
from nibog.web import content as web_content
from nibog.web import favorites as web_favorites
from nibog.web import guest as web_guest
from nibog.web import link_pages, password_reset, prefs
from nibog.web import views as web_views
from nibog.web import waitlist as web_waitlist

API_BLUEPRINTS = [
    auth_api.blp,
    accounts_api.blp,
    accounts_admin_api.blp,
    catalog_api.blp,
    catalog_admin_api.blp,
    promo_admin_api.blp,
    content_api.blp,
    content_admin_api.blp,
    booking_api.blp,
    waitlist_api.blp,
    reviews_api.blp,
    booking_admin_api.blp,
    payments_api.blp,
    payment_webhooks.blp,
    notification_webhooks.blp,
    partner_webhooks.blp,
    documents_api.blp,
    admin_api.blp,
]

PAGE_BLUEPRINTS = [
    health.bp,
    sandbox_views.bp,
    web_views.bp,
    password_reset.bp,
    link_pages.bp,
    prefs.bp,
    web_auth.bp,
    web_booking.bp,
    web_checkout.bp,
    web_waitlist.bp,
    web_favorites.bp,
    web_guest.bp,
    web_account.bp,
    web_content.bp,
    admin_views.bp,
]

# Prometheus scrapes it (METRICS_ENABLED); protected by network or bearer token.
METRICS_BLUEPRINT = scrape.bp
