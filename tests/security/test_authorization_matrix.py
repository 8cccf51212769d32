"""Who may call what: every route of the app's URL map against every kind of caller.

The matrix is generated from ``app.url_map``, so a new route is in it the day it is added:
- every API and webhook route must be classified (``auth_required`` on the view, or listed in ``PUBLIC`` here
  with the reason it needs no token) - an unclassified route fails the first test;
- ``/api/admin/...`` answers 401 to anonymous callers and 403 to parents (and to staff where
  the role list has no staff), and lets the roles it names in;
- a route behind ``auth_required`` answers 401 to anonymous callers and lets a parent in;
- a route whose path names a parent's own object (booking, child, payment, waiting-list
  entry) answers another parent exactly as it answers for an object that does not exist
  (status and body: nothing about the object leaks, nothing is changed), while the owner gets
  something else;
- no caller gets a 5xx.

Callers: anonymous, parent A (owns the objects), parent B, staff, admin. Routes about the
caller's own account (log out, delete me, change password) are let in with a fresh parent each,
so A and B stay as they are.
"""

from __future__ import annotations

import re

import pytest
from flask_jwt_extended import create_access_token, create_refresh_token

from nibog.booking.models import WaitingListEntry
from nibog.booking.service import create_booking
from nibog.catalog.models import Review
from nibog.core import boundary
from nibog.extensions import db
from nibog.payments import service as payments
from tests.booking.world import make_world
from tests.factories import ChildFactory, UserFactory
from tests.helpers import auth_headers

# Routes that take no token, and why.
PUBLIC = {
    # Sign-up and sign-in, recovery: the way to get a token.
    ("POST", "/api/auth/register"), ("POST", "/api/auth/login"),
    ("POST", "/api/auth/login/google"), ("POST", "/api/auth/login/phone"),
    ("POST", "/api/auth/login/phone/verify"), ("POST", "/api/auth/forgot-password"),
    ("POST", "/api/auth/reset-password"), ("GET", "/api/auth/verify-email"),
    # Guests: number + e-mail (+ access code to cancel), rate limited.
    ("POST", "/api/bookings/guest"), ("POST", "/api/bookings/guest/lookup"),
    ("POST", "/api/bookings/guest/cancel"),
    # The public catalog and content.
    ("GET", "/api/cities"), ("POST", "/api/contact"), ("GET", "/api/content/<string:slug>"),
    ("GET", "/api/events"), ("GET", "/api/events/<int:event_id>"),
    ("GET", "/api/events/<int:event_id>/add-ons"), ("GET", "/api/events/<int:event_id>/reviews"),
    ("GET", "/api/events/age-ranges"), ("GET", "/api/events/categories"),
    ("GET", "/api/events/cities"), ("GET", "/api/events/featured"),
    ("GET", "/api/events/upcoming"), ("GET", "/api/events/venues"), ("GET", "/api/faqs"),
    ("GET", "/api/testimonials"), ("GET", "/api/payments/methods"),
    ("GET", "/api/openapi.json"), ("GET", "/api/docs"),
    # Pages: the home page, the e-mailed reset link, the gateways' return pages.
    ("GET", "/"), ("GET", "/reset-password"), ("POST", "/reset-password"),
    ("GET", "/payments/phonepe/return/<merchant_transaction_id>"),
    ("POST", "/payments/phonepe/return/<merchant_transaction_id>"),
    ("GET", "/payments/sandbox/checkout/<order_id>"),
    ("POST", "/payments/sandbox/checkout/<order_id>"),
    # Probes; /metrics checks its own network allow-list or scrape token (nibog/ops/scrape.py).
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/static/<path:filename>"),
    ("GET", "/metrics"),
    # Webhooks: each checks its sender's signature instead of a token.
    ("POST", "/webhooks/email/bounce"), ("POST", "/webhooks/email/delivery"),
    ("POST", "/webhooks/external/booking"), ("POST", "/webhooks/external/update"),
    ("POST", "/webhooks/payment/failure"), ("POST", "/webhooks/payment/phonepe"),
    ("POST", "/webhooks/payment/refund"), ("POST", "/webhooks/payment/success"),
    ("POST", "/webhooks/ses"), ("POST", "/webhooks/sms/delivery"),
    ("POST", "/webhooks/twilio/sms-status"), ("POST", "/webhooks/whatsapp"),
    # Exotel signs nothing: its callback URL carries a secret token instead.
    ("POST", "/webhooks/exotel/sms-status/<token>"),
    # Meta's subscription handshake: answers only with the configured verify token.
    ("GET", "/webhooks/whatsapp"),
}
# Path parameters naming a parent's own object (the value is A's object of that kind).
OWNED = ("booking_id", "child_id", "payment_id", "entry_id")
# A route about the caller's own account, let in with a fresh parent (it may end the session).
SELF_SERVICE = re.compile(r"^/api/(auth/|users/me$|users/me/verify)")
MISSING_ID = 2_000_000_000
# Bodies the schema accepts, where an empty one would be refused before the owner is checked.
BODIES = {
    ("POST", "/api/bookings/<int:booking_id>/review"): {"rating": 4, "comment": "Lovely"},
    ("PUT", "/api/bookings/<int:booking_id>/review"): {"rating": 3},
}


def _auth_tag(view):
    while view is not None:
        tag = getattr(view, "__nibog_auth__", None)
        if tag is not None:
            return tag
        view = getattr(view, "__wrapped__", None)
    return None


def routes(app):
    """(method, rule, auth tag) for every route of the app, HEAD/OPTIONS aside."""
    out = []
    for rule in app.url_map.iter_rules():
        tag = _auth_tag(app.view_functions[rule.endpoint])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, rule.rule, tag))
    # GET first, DELETE last: the owner's own calls change its objects as they go.
    order = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}
    return sorted(out, key=lambda r: (order.get(r[0], 1), r[1]))


def url_for_rule(rule: str, ids: dict) -> str:
    def fill(match):
        _conv, name = match.group(1), match.group(2)
        return str(ids.get(name, "nothing-here" if _conv in ("string", "path", None) else MISSING_ID))

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule)


def _token_face(rule: str) -> bool:
    """The API and webhooks (tokens, signatures); the parent site's pages sign in with the
    session cookie (Flask-Login) and are covered by their own tests (tests/web)."""
    return rule.startswith(("/api/", "/webhooks/"))


def test_every_route_is_classified(app):
    unclassified = sorted(
        f"{method} {rule}" for method, rule, tag in routes(app)
        if tag is None and (method, rule) not in PUBLIC and _token_face(rule)
    )
    assert unclassified == [], "add auth_required, or list the route in PUBLIC with its reason"
    stale = sorted(PUBLIC - {(m, r) for m, r, _ in routes(app)})
    assert stale == []
    admin_unguarded = sorted(
        f"{method} {rule}" for method, rule, tag in routes(app)
        if rule.startswith("/api/admin") and (tag is None or not tag[0]
                                              or not set(tag[0]) <= {"staff", "admin"})
    )
    assert admin_unguarded == []


@pytest.fixture
def world(app):
    """Parent A's objects: a held booking with its open payment and a review, a child, a
    waiting-list entry; parent B has a child of their own."""
    w = make_world(capacity=5)
    a = w.parent
    booking = create_booking(user_id=a.id, event_id=w.event.id, addons=[], promo_code=None,
                             items=[{"child_id": w.children[0].id, "slot_id": w.slots[0].id}],
                             source="app")
    boundary.commit()
    payment = payments.create_payment(booking.id, payer_id=a.id)
    boundary.commit()
    db.session.add(WaitingListEntry(slot_id=w.slots[1].id, child_id=w.children[1].id,
                                    user_id=a.id))
    # A review row as a completed booking would have (only who may read it matters here).
    db.session.add(Review(booking_id=booking.id, event_id=w.event.id, user_id=a.id, rating=5))
    boundary.commit()
    entry = db.session.scalar(db.select(WaitingListEntry.id))
    b = UserFactory()
    ChildFactory(parent=b)
    return {
        "a": a, "b": b,
        "ids": {"booking_id": booking.id, "child_id": w.children[0].id,
                "payment_id": payment.id, "entry_id": entry, "event_id": w.event.id},
    }


def _call(client, method, url, headers=None, rule=None):
    kwargs = {"headers": headers or {}}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = BODIES.get((method, rule), {})
    return client.open(url, method=method, **kwargs)


def _answer(resp):
    return resp.status_code, resp.get_json(silent=True)


def test_the_matrix(app, client, world):
    with app.test_request_context():
        headers = {
            "a": auth_headers(world["a"]), "b": auth_headers(world["b"]),
            "staff": auth_headers(UserFactory(role="staff")),
            "admin": auth_headers(UserFactory(role="admin")),
        }
    ids = world["ids"]
    failures: list[str] = []
    checked = {"anonymous": 0, "parent A": 0, "parent B": 0, "staff": 0, "admin": 0}
    owner_calls = []

    def expect(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)

    for method, rule, tag in routes(app):
        where = f"{method} {rule}"
        if (method, rule) in PUBLIC or (tag is None and not _token_face(rule)):
            resp = _call(client, method, url_for_rule(rule, ids))
            checked["anonymous"] += 1
            expect(resp.status_code < 500, f"{where} anonymous: {resp.status_code}")
            if rule.startswith("/api"):
                expect(resp.status_code not in (401, 403), f"{where} public but {resp.status_code}")
            continue
        roles, optional = tag
        owned = [name for name in OWNED if f":{name}>" in rule]
        url = url_for_rule(rule, ids if owned else {})
        anon = _call(client, method, url)
        checked["anonymous"] += 1
        if optional:
            expect(anon.status_code not in (401, 403) and anon.status_code < 500,
                   f"{where} optional token, anonymous: {anon.status_code}")
        else:
            expect(anon.status_code == 401, f"{where} anonymous: {anon.status_code}")
        if roles:
            for who, role in (("b", "parent"), ("staff", "staff"), ("admin", "admin")):
                resp = _call(client, method, url, headers[who])
                checked[{"b": "parent B"}.get(who, who)] += 1
                if role in roles:
                    expect(resp.status_code not in (401, 403) and resp.status_code < 500,
                           f"{where} as {role}: {resp.status_code}")
                else:
                    expect(resp.status_code == 403, f"{where} as {role}: {resp.status_code}")
            continue
        if owned:
            # B asks for A's object: the same answer as for an object that does not exist.
            other = _answer(_call(client, method, url, headers["b"], rule))
            missing = _answer(_call(client, method, url_for_rule(rule, {}), headers["b"], rule))
            checked["parent B"] += 1
            expect(other == missing, f"{where} as parent B: {other} but missing: {missing}")
            owner_calls.append((method, rule, url, missing))
        elif SELF_SERVICE.match(rule):
            fresh = UserFactory()
            with app.test_request_context():
                # The refresh route takes the refresh token as its bearer token.
                token = (create_refresh_token if rule == "/api/auth/refresh"
                         else create_access_token)(identity=fresh)
            mine = {"Authorization": f"Bearer {token}"}
            resp = _call(client, method, url, mine)
            checked["parent B"] += 1
            expect(resp.status_code not in (401, 403) and resp.status_code < 500,
                   f"{where} as a parent: {resp.status_code}")
        else:
            resp = _call(client, method, url, headers["b"])
            checked["parent B"] += 1
            expect(resp.status_code not in (401, 403) and resp.status_code < 500,
                   f"{where} as a parent: {resp.status_code}")

    # Last, the owner: something else than "no such object" (proof the object was there).
    for method, rule, url, missing in owner_calls:
        mine = _answer(_call(client, method, url, headers["a"], rule))
        checked["parent A"] += 1
        expect(mine != missing and mine[0] < 500, f"{method} {rule} as its owner: {mine}")

    assert failures == [], "\n".join(failures)
    # Every kind of caller was tried (figures for docs/reliability.md).
    assert all(checked.values()), checked
    print("authorization matrix:", checked, "routes:", len(routes(app)))


def test_another_parents_objects_in_a_body_are_not_found(client, world, app):
    """Ids sent in a body rather than the path: B naming A's child, booking or payment."""
    with app.test_request_context():
        b = auth_headers(world["b"])
    ids = world["ids"]
    cases = [
        ("/api/bookings", {"event_id": ids["event_id"],
                           "items": [{"child_id": ids["child_id"], "slot_id": 1}]}),
        ("/api/payments/create", {"booking_id": ids["booking_id"]}),
        ("/api/payments/confirm", {"payment_id": ids["payment_id"],
                                   "provider_payment_id": "pay_x", "signature": "x"}),
        ("/api/waiting-list", {"child_id": ids["child_id"], "slot_id": 1}),
    ]
    for url, body in cases:
        resp = client.post(url, json=body, headers=b)
        assert resp.status_code == 404, (url, resp.get_json())
