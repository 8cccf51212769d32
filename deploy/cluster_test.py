"""`make cluster-test`: the booking race and catalog reads through the load balancer.

Against a cluster started by ``deploy/cluster.sh up`` (settings from its ``app.env``), asserts:
1. capacity is exact across two web instances: PARENTS parents race for SEATS seats, exactly SEATS
   holds are made, the slot's counter and the live items agree, and both instances took part;
2. a parent reads their own booking right after making it (from the primary: the replica-lag rule);
3. catalog reads are served by the streaming replica (its transaction counter moves);
4. periodic jobs are queued once per period across the two workers, and the workers report;
5. /metrics is refused through the public balancer.
Prints a line per check and exits non-zero on the first failure.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("NIBOG_CLUSTER_DIR", "/tmp/nibog-cluster"))
LB = "http://127.0.0.1:58000"
WEBS = ("http://127.0.0.1:58001", "http://127.0.0.1:58002")
SEATS, PARENTS = 25, 100


def load_env() -> None:
    for line in (STATE / "app.env").read_text().splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            os.environ[key] = value
    # The test writes its fixtures straight to the primary (not through PgBouncer).
    os.environ["DATABASE_URL"] = os.environ["DIRECT_DATABASE_URL"]
    os.environ.pop("DATABASE_REPLICA_URL", None)


def call(method: str, url: str, body: dict | None = None, token: str | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback
            return resp.status, json.loads(resp.read() or b"null"), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), exc.headers


def check(label: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {label}{(' - ' + detail) if detail else ''}", flush=True)
    if not ok:
        sys.exit(1)


def metric(url: str, name: str, **labels) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:  # noqa: S310
        text = resp.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def seed(app):
    """One event with one slot of SEATS seats, PARENTS parents with a child each, their tokens."""
    from flask_jwt_extended import create_access_token

    from nibog.extensions import db
    from tests.factories import (
        ChildFactory,
        EventFactory,
        EventGameFactory,
        GameSlotFactory,
        GameTemplateFactory,
        UserFactory,
        birth_date_for_age,
    )

    with app.app_context():
        event = EventFactory()
        game = EventGameFactory(event=event, template=GameTemplateFactory(
            min_age_months=12, max_age_months=48, default_price=79900))
        slot = GameSlotFactory(event_game=game, capacity=SEATS)
        parents = []
        for _ in range(PARENTS):
            parent = UserFactory()
            child = ChildFactory(parent=parent,
                                 date_of_birth=birth_date_for_age(24, event.event_date))
            parents.append((create_access_token(identity=parent), child.id))
        db.session.commit()
        return event.id, slot.id, parents


def replica_commits() -> int:
    import sqlalchemy as sa

    engine = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:55433/postgres")
    with engine.connect() as conn:
        value = conn.execute(sa.text(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'nibog'"
        )).scalar_one()
    engine.dispose()
    return int(value)


def main() -> int:
    load_env()
    sys.path.insert(0, str(ROOT))
    from nibog import create_app

    app = create_app()
    event_id, slot_id, parents = seed(app)
    before = [metric(w, "nibog_http_requests_total", route="/api/bookings", method="POST")
              for w in WEBS]

    def attempt(parent):
        token, child_id = parent
        status, body, _ = call("POST", LB + "/api/bookings", {
            "event_id": event_id, "items": [{"child_id": child_id, "slot_id": slot_id}]}, token)
        own = None
        if status == 201:
            # Read-your-own-write through the balancer, at once.
            own = call("GET", f"{LB}/api/bookings/{body['booking']['id']}", token=token)[0]
        return status, (body or {}).get("error", {}).get("code"), own

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, parents))
    elapsed = time.monotonic() - started
    held = sum(1 for status, _, _ in results if status == 201)
    refused = sum(1 for status, code, _ in results if status == 409 and code == "slot_full")
    check(f"booking race: {PARENTS} parents, {SEATS} seats, {elapsed:.1f} s",
          held == SEATS and refused == PARENTS - SEATS,
          f"{held} held, {refused} slot_full, others {[r for r in results if r[0] not in (201, 409)][:3]}")
    check("each parent read their own booking right after making it",
          all(own == 200 for status, _, own in results if status == 201))

    from sqlalchemy import func, select

    from nibog.booking.models import BookingItem
    from nibog.catalog.models import GameSlot
    from nibog.extensions import db

    with app.app_context():
        booked = db.session.get(GameSlot, slot_id).booked_count
        live = db.session.scalar(select(func.count()).select_from(BookingItem).where(
            BookingItem.slot_id == slot_id, BookingItem.is_live.is_(True)))
    check("the slot's counter and its live items agree with the seats", booked == live == SEATS,
          f"booked_count {booked}, live items {live}")
    after = [metric(w, "nibog_http_requests_total", route="/api/bookings", method="POST")
             for w in WEBS]
    served = [a - b for a, b in zip(after, before, strict=True)]
    check("both web instances took bookings", all(n > 0 for n in served), f"{served}")

    reads_before = replica_commits()
    for _ in range(12):
        status, _, _ = call("GET", f"{LB}/api/events/{event_id}")
        assert status == 200
        time.sleep(0.15)  # past the one-second micro-cache now and then
    reads = replica_commits() - reads_before
    check("catalog reads reached the streaming replica", reads >= 2, f"{reads} transactions")

    # Both workers run the scheduler; each period is claimed once (SET NX EX in Redis).
    queued: dict[str, int] = {}
    for n in (1, 2):
        for match in re.finditer(r"periodic job queued: ([\w.]+)",
                                 (STATE / f"worker{n}.log").read_text()):
            queued[match.group(1)] = queued.get(match.group(1), 0) + 1
    daily = {f: c for f, c in queued.items() if "purge" in f or "reminders" in f}
    check("periodic jobs queued once per period across two workers",
          bool(daily) and all(c == 1 for c in daily.values()), f"{queued}")
    try:
        urllib.request.urlopen(LB + "/metrics", timeout=10)  # noqa: S310
        public = 200
    except urllib.error.HTTPError as exc:
        public = exc.code
    check("/metrics is not reachable through the public balancer", public == 403, str(public))
    started = sum(metric(f"http://127.0.0.1:{p}", "nibog_jobs_started_total")
                  for p in (58101, 58102))
    check("the workers ran the queued jobs and report them", started > 0, f"{started:.0f} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
