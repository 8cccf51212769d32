"""Admin dashboard benchmark: 100k bookings in a database of its own, then the overview page and
the bookings search timed through the app (request, queries, template), signed in as an admin.

    python bench/admin_bench.py                 # seed (if needed) and time
    python bench/admin_bench.py --reseed        # drop and seed again
    python bench/admin_bench.py --rows 200000   # another volume

The data is written in bulk with SQL (generate_series), in the shape production has: 240
events over a year (most past, some coming), 4 games x 3 slots each, 40k parents with 50k
children, bookings in every status (a third with two games), online payments with some refunds,
cash bookings at the desk. Target: every page under 300 ms (median) with 100k bookings.

The database is ``ADMIN_BENCH_DATABASE_URL`` (default nibog_admin_bench on the local server;
give each checkout that runs the bench its own); it is created if missing and never shared with
the tests. It is seeded at this checkout's migration head: a database left at another revision
(another branch's schema, or one before a migration) is dropped and seeded again, as the seed
writes straight to the tables. Timings are wall-clock in one process: on a shared machine other
work shows up in them - compare medians, and runs on a quiet host; ``bench/admin_paired.py``
alternates two checkouts' code request by request.

The overview's all-time charts come from a snapshot the worker refreshes every 30 s
(nibog.admin.all_time); the bench computes it once, as the worker would, and times that job too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("NIBOG_ENV", "development")

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/nibog_admin_bench"
TARGET_MS = 300.0
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
FIRST = ["Aarav", "Vivaan", "Aditya", "Ishaan", "Diya", "Ananya", "Saanvi", "Meera", "Kabir",
         "Riya", "Arjun", "Kavya", "Rohan", "Aanya", "Vihaan", "Myra", "Reyansh", "Anika",
         "Krishna", "Tara", "Ayaan", "Navya", "Dhruv", "Ira", "Shaurya", "Lakshmi", "Harini",
         "Pranav", "Nikhil", "Sneha", "Pooja", "Rahul", "Deepa", "Suresh", "Anjali", "Varun",
         "Nandini", "Gautam", "Shreya", "Karthik", "Divya", "Manoj", "Priya", "Siddharth",
         "Aishwarya", "Tanvi", "Yash", "Neha", "Abhinav", "Ritika", "Farhan", "Zoya", "Imran",
         "Sana", "Joseph", "Mary", "Gurpreet", "Harleen", "Tenzin", "Lalremruati"]
LAST = ["Sharma", "Iyer", "Reddy", "Nair", "Patel", "Gupta", "Rao", "Menon", "Singh", "Das",
        "Kulkarni", "Joshi", "Mehta", "Pillai", "Banerjee", "Chatterjee", "Verma", "Naidu",
        "Khan", "Fernandes", "Dsouza", "Bhat", "Hegde", "Shetty", "Agarwal", "Bose", "Ghosh",
        "Mishra", "Pandey", "Yadav", "Chauhan", "Thakur", "Gill", "Sandhu", "Kaur", "Mathew",
        "Thomas", "Varghese", "Krishnan", "Subramanian"]
DOMAINS = ["gmail.com", "yahoo.co.in", "rediffmail.com", "outlook.com"]


def _sql_list(words: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{w}'" for w in words) + "]"


def ensure_database(url: str, reseed: bool) -> bool:
    """Create the bench database if missing (or again with ``reseed``); True when it is new."""
    target = make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": target.database})
        if exists and reseed:
            conn.execute(sa.text(f'DROP DATABASE "{target.database}" WITH (FORCE)'))
            exists = False
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return not exists


ROOT = Path(__file__).resolve().parents[1]


def schema_revision(url: str) -> str | None:
    """The Alembic revision of the bench database (None: empty or never migrated)."""
    engine = sa.create_engine(url)
    try:
        try:
            conn = engine.connect()
        except sa.exc.OperationalError:
            return None  # no such database yet (a fresh machine): ensure_database makes it
        with conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


def head_revision(code: Path = ROOT) -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(code / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def seed(conn, rows: int) -> None:
    """Everything in bulk; the ids are computed (1..n per table, the tables start empty)."""
    parents, children = max(1000, rows * 2 // 5), max(1200, rows // 2)
    events, games_per_event, slots_per_game = 240, 4, 3
    slots_per_event = games_per_event * slots_per_game
    slots = events * slots_per_event
    first, last, domains = _sql_list(FIRST), _sql_list(LAST), _sql_list(DOMAINS)
    p = {"rows": rows, "parents": parents, "children": children, "events": events,
         "slots": slots, "spe": slots_per_event}
    steps = [
        ("cities", """
            INSERT INTO cities (name, state, slug)
            SELECT c, 'India', lower(c) FROM unnest(ARRAY['Hyderabad', 'Chennai', 'Bengaluru',
              'Mumbai', 'Delhi', 'Pune']) AS c"""),
        ("venues", """
            INSERT INTO venues (city_id, name, address)
            SELECT (v + 1) / 2, 'Venue ' || v, v || ' Stadium Road' FROM generate_series(1, 12) v"""),
        ("game templates", """
            INSERT INTO game_templates (name, category, min_age_months, max_age_months,
                                        default_price)
            SELECT g, 'running', 6, 84, 79900 FROM unnest(ARRAY['Baby Crawling', 'Running Race',
              'Hurdle Toddle', 'Cycle Race', 'Ring Holding', 'Jumping Ball', 'Shot Put',
              'Baby Walker']) AS g"""),
        # A year of events: e=1 about ten months ago, the last two months ahead.
        ("events", """
            INSERT INTO events (title, slug, city_id, venue_id, event_date, start_time, end_time,
                                status, published_at)
            SELECT 'NIBOG Games ' || e, 'nibog-games-' || e, (e % 6) + 1, (e % 6) * 2 + 1 + e % 2,
                   current_date + ((e - 200) * 3 / 2), '09:00', '17:00',
                   CASE WHEN current_date + ((e - 200) * 3 / 2) < current_date THEN 'completed'
                        ELSE 'published' END, now()
            FROM generate_series(1, :events) e"""),
        ("event games", """
            INSERT INTO event_games (event_id, game_template_id, sort_order)
            SELECT e, ((e + g) % 8) + 1, g FROM generate_series(1, :events) e,
                   generate_series(0, 3) g ORDER BY e, g"""),
        ("slots", """
            INSERT INTO game_slots (event_game_id, start_time, end_time, capacity)
            SELECT eg, make_time(9 + s * 2, 0, 0), make_time(10 + s * 2, 0, 0), 400
            FROM generate_series(1, :events * 4) eg, generate_series(0, 2) s ORDER BY eg, s"""),
        # Names, addresses and numbers as varied as real ones (a search box's indexes are only
        # as selective as the data): 60 x 40 names, four mail providers, scattered numbers
        # (u * 104729 mod 9e8 is one-to-one: the numbers stay unique).
        ("users", f"""
            INSERT INTO users (email, phone, full_name, role, email_verified, created_at)
            SELECT lower(f) || '.' || lower(l) || u || '@' || ({domains})[1 + u % 4],
                   '+91' || (9000000000 + (u::bigint * 104729) % 900000000)::text,
                   f || ' ' || l, 'parent', true, now() - (u % 400) * interval '1 day'
            FROM (SELECT u, ({first})[1 + u % 60] AS f, ({last})[1 + (u / 60) % 40] AS l
                  FROM generate_series(1, :parents) u) x"""),
        ("admin", """
            INSERT INTO users (email, full_name, role) VALUES
              ('bench-admin@bench.nibog.in', 'Bench Admin', 'admin')"""),
        ("children", f"""
            INSERT INTO children (user_id, full_name, date_of_birth, gender)
            SELECT (c - 1) % :parents + 1, ({first})[1 + (c * 7) % 60],
                   current_date - (420 + c % 900), CASE WHEN c % 2 = 0 THEN 'female' ELSE 'male' END
            FROM generate_series(1, :children) c"""),
        # Booking i: child (i-1) % children + 1, first slot (i-1) % slots + 1 (of its event);
        # i % 20 picks the status: 14 in 20 sold, cancelled, expired, held, cash at the desk.
        ("bookings", f"""
            INSERT INTO bookings (booking_number, user_id, event_id, status, source, subtotal,
                                  total, payment_mode, created_at, confirmed_at, cancelled_at,
                                  expired_at, completed_at, hold_expires_at)
            SELECT
              'NIB-26-' || {''.join(
                  f"substr('{ALPHABET}', ((i / {31 ** k}) % 31)::int + 1, 1) || "
                  for k in range(5, -1, -1))[:-4]},
              (i - 1) % :children % :parents + 1, ev, st,
              CASE WHEN i % 20 = 19 THEN 'admin' WHEN i % 3 = 0 THEN 'web' ELSE 'app' END,
              price, price, CASE WHEN i % 20 = 19 THEN 'cash' ELSE 'online' END,
              made, CASE WHEN st IN ('confirmed', 'completed') THEN made + interval '2 minutes' END,
              CASE WHEN st = 'cancelled' THEN made + interval '3 days' END,
              CASE WHEN st = 'expired' THEN made + interval '15 minutes' END,
              CASE WHEN st = 'completed' THEN made + interval '20 days' END,
              CASE WHEN st = 'pending_payment' THEN now() + interval '10 minutes' END
            FROM (
              SELECT i, ev, price, made,
                CASE WHEN i % 20 = 18 THEN 'pending_payment'
                     WHEN i % 20 IN (14, 15) THEN 'cancelled'
                     WHEN i % 20 IN (16, 17) THEN 'expired'
                     WHEN edate < current_date THEN 'completed'
                     ELSE 'confirmed' END AS st
              FROM (
                SELECT i, ((i - 1) % :slots) / :spe + 1 AS ev,
                       CASE WHEN i % 3 = 0 THEN 159800 ELSE 79900 END AS price,
                       least(now() - interval '1 minute',
                             (current_date + ((((i - 1) % :slots) / :spe + 1 - 200) * 3 / 2))::timestamptz
                             - ((i % 50) + 1) * interval '1 day' + (i % 600) * interval '1 minute')
                         AS made,
                       current_date + ((((i - 1) % :slots) / :spe + 1 - 200) * 3 / 2) AS edate
                FROM generate_series(1, :rows) i
              ) a
            ) b ORDER BY i"""),
        ("booking items", """
            INSERT INTO booking_items (booking_id, child_id, slot_id, price, is_live, attendance,
                                       checked_in_at)
            SELECT i, (i - 1) % :children + 1, slot, 79900,
                   b.status IN ('pending_payment', 'confirmed', 'completed'),
                   CASE WHEN b.status = 'completed' THEN
                     CASE WHEN i % 9 = 0 THEN 'no_show' ELSE 'attended' END ELSE 'unknown' END,
                   CASE WHEN b.status = 'completed' AND i % 9 <> 0 THEN b.completed_at END
            FROM bookings b,
                 LATERAL (SELECT b.id AS i) x,
                 LATERAL (
                   SELECT (b.id - 1) % :slots + 1 AS slot
                   UNION ALL
                   -- a second game: three slots on, in the same event
                   SELECT ((b.id - 1) % :slots / :spe) * :spe
                          + (((b.id - 1) % :slots % :spe) + 3) % :spe + 1
                   WHERE b.id % 3 = 0
                 ) s
            ORDER BY b.id"""),
        ("payments", """
            INSERT INTO payments (booking_id, user_id, provider, provider_order_id,
                                  provider_payment_id, amount, amount_refunded, status, method,
                                  captured_at, created_at)
            SELECT id, user_id, 'sandbox', 'order_b' || id, 'pay_b' || id, total,
                   CASE WHEN status = 'cancelled' THEN total ELSE 0 END,
                   CASE WHEN status = 'cancelled' THEN 'refunded' ELSE 'captured' END, 'upi',
                   created_at + interval '2 minutes', created_at + interval '1 minute'
            FROM bookings
            WHERE payment_mode = 'online'
              AND (status IN ('confirmed', 'completed') OR (status = 'cancelled' AND id % 40 = 14))
            ORDER BY id"""),
        ("refunds", """
            INSERT INTO refunds (payment_id, amount, status, reason, processed_at, created_at)
            SELECT p.id, p.amount, 'processed', 'cancelled by parent',
                   b.cancelled_at + interval '1 day', b.cancelled_at
            FROM payments p JOIN bookings b ON b.id = p.booking_id
            WHERE p.status = 'refunded' ORDER BY p.id"""),
        ("seat counts", """
            UPDATE game_slots s SET booked_count = c.n, capacity = greatest(s.capacity, c.n)
            FROM (SELECT slot_id, count(*) AS n FROM booking_items WHERE is_live
                  GROUP BY slot_id) c
            WHERE c.slot_id = s.id"""),
    ]
    for label, sql in steps:
        started = time.perf_counter()
        result = conn.execute(sa.text(sql), {k: v for k, v in p.items() if f":{k}" in sql})
        print(f"  {label:<15} {result.rowcount:>8} rows  {time.perf_counter() - started:6.1f} s",
              flush=True)
    conn.execute(sa.text("ANALYZE"))


def make_app(url: str):
    from nibog import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False, "LOG_LEVEL": "WARNING", "LOG_JSON": False,
        "ACCESS_LOG": False,
    })


SQL_MS: list[float] = []


def watch_sql(engine) -> None:
    """Add up the time spent waiting for the database (the rest is Python: views, templates)."""
    @sa.event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, params, context, executemany):
        conn.info["bench_t"] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, params, context, executemany):
        SQL_MS.append((time.perf_counter() - conn.info.pop("bench_t")) * 1000)


def timed(client, path: str, runs: int) -> tuple[float, float, float, int]:
    client.get(path)  # warm: connections, templates, plans
    client.get(path)
    samples, sql = [], []
    status = 0
    for _ in range(runs):
        SQL_MS.clear()
        started = time.perf_counter()
        resp = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        sql.append(sum(SQL_MS))
        status = resp.status_code
    samples.sort()
    return (statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)],
            statistics.median(sql), status)


def refresh_snapshot() -> float:
    """The worker's periodic job, in its own unit (commits): how long it took, in ms."""
    from nibog.admin import tasks
    from nibog.core import boundary

    started = time.perf_counter()
    boundary.run_unit(tasks.refresh_dashboard_figures)
    return (time.perf_counter() - started) * 1000


def prepare(url: str, rows: int, reseed: bool = False):
    """The bench database at this checkout's head, seeded, with a fresh snapshot; returns
    (app, admin session id, a sample booking's row, table counts, the job's ms)."""
    have_rev, head = schema_revision(url), head_revision()
    if have_rev not in (None, head) and not reseed:
        print(f"the bench database is at revision {have_rev}, this checkout's head is {head}: "
              "seeding it again", flush=True)
        reseed = True
    fresh = ensure_database(url, reseed)
    app = make_app(url)
    with app.app_context():
        from flask_migrate import upgrade

        from nibog.extensions import db

        upgrade()
        have = db.session.scalar(sa.text("SELECT count(*) FROM bookings"))
        db.session.remove()
        if fresh or have == 0:
            print(f"seeding {rows} bookings into {make_url(url).database}", flush=True)
            with db.engine.begin() as conn:
                seed(conn, rows)
        elif have != rows:
            print(f"the bench database holds {have} bookings; --reseed to seed {rows}")
        counts = {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}"))
                  for t in ("bookings", "booking_items", "payments", "users", "children")}
        admin_id = db.session.scalar(sa.text(
            "SELECT id || ':' || token_version FROM users WHERE role = 'admin' LIMIT 1"))
        sample = db.session.execute(sa.text(
            "SELECT b.booking_number, u.email, u.phone, b.event_id, u.full_name FROM bookings b "
            "JOIN users u ON u.id = b.user_id WHERE b.id = :i"), {"i": counts["bookings"] // 2}
        ).one()
        db.session.remove()
        job_ms = refresh_snapshot()
        db.session.remove()
        watch_sql(db.engine)
    return app, admin_id, sample, counts, job_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="bookings to seed")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page")
    parser.add_argument("--reseed", action="store_true", help="drop the bench database first")
    args = parser.parse_args()
    from nibog.config import normalise_database_url

    url = normalise_database_url(os.environ.get("ADMIN_BENCH_DATABASE_URL", DEFAULT_URL))
    app, admin_id, sample, counts, job_ms = prepare(url, args.rows, args.reseed)
    print("rows: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"job: all-time figures recomputed (worker, every 30 s): {job_ms:.1f} ms")

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = admin_id  # User.get_id(): "<id>:<token version>"
        sess["_fresh"] = True
    number, email, phone, event_id, parent_name = sample
    pages = [
        ("dashboard, no snapshot", "/admin/?fresh"),
        ("dashboard (30 days)", "/admin/"),
        ("dashboard (90 days)", "/admin/?days=90"),
        ("bookings, first page", "/admin/bookings"),
        ("search: booking number", f"/admin/bookings?q={number}"),
        ("search: e-mail", f"/admin/bookings?q={email.split('@')[0]}@"),
        ("search: phone", f"/admin/bookings?q={phone[-10:]}"),
        ("search: parent's full name", f"/admin/bookings?q={parent_name.replace(' ', '+')}"),
        ("search: a common first name", "/admin/bookings?q=meera"),
        ("filter: status, by total", "/admin/bookings?status=cancelled&sort=total&dir=desc"),
        ("filter: event", f"/admin/bookings?event_id={event_id}"),
        ("filter: event dates", "/admin/bookings?date_from=2026-01-01&date_to=2026-03-31"),
        ("payments, first page", "/admin/payments"),
        ("audit log", "/admin/audit-log"),
    ]
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'page':<30} {'median':>8} {'p95':>8} {'sql':>8}  (ms, {args.runs} runs; target "
          f"< {TARGET_MS:.0f} ms)")
    slow = []
    for label, path in pages:
        # "?fresh": the all-time charts computed by the view, as without a worker (or with
        # ADMIN_STATS_CACHE_SECONDS 0); the other dashboard rows read the worker's snapshot,
        # kept fresh here as the worker would.
        app.config["ADMIN_STATS_CACHE_SECONDS"] = 0 if path.endswith("?fresh") else 60
        if path.startswith("/admin/?") or path == "/admin/":
            with app.app_context():
                refresh_snapshot()
        median, p95, sql, status = timed(client, path, args.runs)
        flag = "" if median < TARGET_MS else "  SLOW"
        if status != 200:
            flag += f"  HTTP {status}"
        if flag:
            slow.append(label)
        print(f"{label:<30} {median:8.1f} {p95:8.1f} {sql:8.1f}{flag}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}: other work on a shared host shows up in "
          "these numbers (sql = waiting for PostgreSQL, the rest is Python).")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
