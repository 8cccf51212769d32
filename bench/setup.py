"""Bench data set-up, through the public API wherever that is affordable.

Through the API: the admin's login, the city, venue, game template, every event (with its game and
10 slots x 50 seats), and ``api_parents`` parents registered with ``POST /api/auth/register`` who
add their child with ``POST /api/users/me/children``.

In bulk, straight into the database: the rest of the parents and children. Registering 5000
parents through the API costs 5000 argon2 hashes (memory-hard by design, ~22 ms of a core each,
about a minute on two cores), which would dominate the set-up; a bulk row gets the hash of the same password, computed once, so
those parents could log in like any other. Their access tokens are minted with the app's own
``create_access_token`` (same claims as a login: role and token version) instead of 5000 argon2
verifications. Nothing in the burst path is bypassed: every booking request still carries a JWT
that the server verifies and resolves to the user row.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import requests
import stack

ADMIN_EMAIL = "bench-admin@bench.nibog.in"
ADMIN_PASSWORD = "bench-admin-password-1"
PARENT_PASSWORD = "bench-parent-password-1"
SLOT_COUNT = 10
SLOT_CAPACITY = 50
SLOT_PRICE = 79900


class Api:
    def __init__(self, base: str, token: str | None = None):
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kw):
        resp = self.session.request(method, self.base + path, timeout=60, **kw)
        if resp.status_code not in expect:
            raise RuntimeError(f"{method} {path} -> {resp.status_code}: {resp.text[:500]}")
        return resp.json() if resp.content else None


def event_date() -> date:
    return date.today() + timedelta(days=30)


def child_birth_date() -> date:
    # About 3 years old on the event date: inside the template's 12-84 month range.
    return event_date() - timedelta(days=3 * 365 + 20)


def setup_catalog(base: str) -> dict:
    stack.run_flask("create-admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)
    anon = Api(base)
    login = anon.call("POST", "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    admin = Api(base, login["access_token"])
    city = admin.call("POST", "/api/admin/cities", json={"name": "Benchpur", "state": "Telangana"})
    venue = admin.call(
        "POST", "/api/admin/venues",
        json={"city_id": city["id"], "name": "Bench Indoor Stadium", "address": "1 Load Road"},
    )
    template = admin.call(
        "POST", "/api/admin/game-templates",
        json={"name": "Bench Running Race", "category": "running", "min_age_months": 12,
              "max_age_months": 84, "duration_minutes": 30, "default_price": SLOT_PRICE},
    )
    return {"admin_token": login["access_token"], "city_id": city["id"], "venue_id": venue["id"],
            "template_id": template["id"]}


def create_event(base: str, catalog: dict, title: str, slot_count: int = SLOT_COUNT,
                 capacity: int = SLOT_CAPACITY) -> dict:
    """One published event with one game of ``slot_count`` slots x ``capacity`` seats.

    Up to 10 slots last 30 minutes each; more (the all-success shape's 100) last 5 minutes,
    so they all fit between 09:00 and 17:20.
    """
    slots = []
    step = 30 if slot_count <= 10 else 5
    for i in range(slot_count):
        start = 9 * 60 + step * i
        slots.append({"start_time": f"{start // 60:02d}:{start % 60:02d}",
                      "end_time": f"{(start + step) // 60:02d}:{(start + step) % 60:02d}",
                      "capacity": capacity, "price": None})
    day = event_date()
    payload = {
        "title": title, "city_id": catalog["city_id"], "venue_id": catalog["venue_id"],
        "event_date": day.isoformat(), "start_time": "09:00", "end_time": "18:00",
        "description": "Bench event", "status": "published", "is_featured": False,
        "registration_closes_at": f"{(day - timedelta(days=1)).isoformat()}T23:59:00+05:30",
        "games": [{"game_template_id": catalog["template_id"], "price": SLOT_PRICE,
                   "min_age_months": None, "max_age_months": None, "slots": slots}],
        "addons": [],
    }
    event = Api(base, catalog["admin_token"]).call("POST", "/api/admin/events", json=payload)
    return {"event_id": event["id"], "slot_ids": slot_ids_of(event["id"])}


def slot_ids_of(event_id: int) -> list[int]:
    import psycopg2

    with psycopg2.connect(stack.db_url()) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT s.id FROM game_slots s JOIN event_games g ON g.id = s.event_game_id "
            "WHERE g.event_id = %s ORDER BY s.id", (event_id,),
        )
        return [r[0] for r in cur.fetchall()]


def register_parent(base: str, i: int) -> dict:
    anon = Api(base)
    reg = anon.call("POST", "/api/auth/register", json={
        "email": f"bench-api-parent-{i}@bench.nibog.in", "password": PARENT_PASSWORD,
        "full_name": f"Bench API Parent {i}",
    })
    me = Api(base, reg["access_token"])
    child = me.call("POST", "/api/users/me/children", json={
        "full_name": f"Bench Child {i}", "date_of_birth": child_birth_date().isoformat(),
        "gender": "female" if i % 2 else "male",
    })
    return {"user_id": reg["user"]["id"], "child_id": child["id"], "token": reg["access_token"]}


def register_parents_via_api(base: str, n: int) -> list[dict]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda i: register_parent(base, i), range(n)))


def bulk_parents(n: int) -> list[dict]:
    """Insert ``n`` parents with one child each in two statements; mint their access tokens."""
    import psycopg2
    from psycopg2.extras import execute_values

    from nibog.auth.passwords import hash_password

    pw_hash = hash_password(PARENT_PASSWORD)
    dob = child_birth_date()
    with psycopg2.connect(stack.db_url()) as conn, conn.cursor() as cur:
        users = execute_values(
            cur,
            "INSERT INTO users (email, password_hash, full_name, role, email_verified) VALUES %s "
            "RETURNING id",
            [(f"bench-parent-{i}@bench.nibog.in", pw_hash, f"Bench Parent {i}", "parent", True)
             for i in range(n)],
            page_size=1000, fetch=True,
        )
        user_ids = [r[0] for r in users]
        kids = execute_values(
            cur,
            "INSERT INTO children (user_id, full_name, date_of_birth, gender) VALUES %s RETURNING id",
            [(uid, f"Bench Kid {uid}", dob, "male" if uid % 2 else "female") for uid in user_ids],
            page_size=1000, fetch=True,
        )
        child_ids = [r[0] for r in kids]
    tokens = mint_tokens(user_ids)
    return [{"user_id": u, "child_id": c, "token": t}
            for u, c, t in zip(user_ids, child_ids, tokens, strict=True)]


def mint_tokens(user_ids: list[int]) -> list[str]:
    """Access tokens exactly as a login issues them (identity, role and token-version claims)."""
    if os.environ.get("JWT_SECRET_KEY") != stack.bench_env()["JWT_SECRET_KEY"]:
        raise RuntimeError("run.py must export the bench environment before minting tokens")
    from flask_jwt_extended import create_access_token

    from nibog import create_app

    app = create_app()
    with app.app_context():
        return [create_access_token(identity=str(uid), additional_claims={"role": "parent", "tv": 0})
                for uid in user_ids]


def setup_all(base: str, parents: int, api_parents: int, list_events: int) -> dict:
    catalog = setup_catalog(base)
    # A city page with a realistic number of events for the read benchmark.
    listed = [create_event(base, catalog, f"Bench Listed Event {i}")["event_id"]
              for i in range(list_events)]
    via_api = register_parents_via_api(base, min(api_parents, parents))
    bulk = bulk_parents(parents - len(via_api))
    return {**catalog, "listed_event_ids": listed, "parents": via_api + bulk,
            "api_parents": len(via_api), "bulk_parents": len(bulk)}
