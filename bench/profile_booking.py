"""CPU cost of one booking request, in-process, without HTTP: where the burst's time goes.

    .venv/bin/python bench/profile_booking.py [--profile full|held] [--n 2000]
    .venv/bin/python bench/profile_booking.py --journey pay --reset [--profile create|confirm]

Needs the database and Redis that ``bench/run.py`` left behind (``nibog_bench``, Redis db 1):
it picks the event with the most free seats, fills it through the app (the ``held`` answers),
then sends ``--n`` more requests for its full slots (the ``slot_full`` answers), calling the
WSGI app directly so only the app's own work is measured; then, as the floor under any hold,
``--n`` answers of ``GET /healthz`` and of ``GET /api/users/me`` (a signed-in parent, no booking
work). Prints CPU ms per answer and, with
``--profile``, the top of a cProfile of that kind of answer. Jobs run in-process
(JOBS_SYNC) so the held path's after-commit work is counted too, as the worker's share.

``--journey pay`` is the hold + pay burst's journey instead, in three phases over the same
bookings: every hold (``POST /api/bookings``), then each one's ``POST /api/payments/create``
(sandbox order), then ``POST /api/payments/confirm`` signed as the sandbox checkout signs (the
bench's key secret); CPU ms (and PostgreSQL's) per answer of each kind. ``--reset`` first empties
the bookings (and their payments) so a run can be repeated on the same event, e.g. alternated
with another tree for a paired comparison.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import io
import json
import os
import pstats
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import procstat  # noqa: E402
import stack  # noqa: E402

# The sandbox's signing key in the bench environment (stack.bench_env: RAZORPAY_KEY_SECRET).
PAY_KEY_SECRET = "bench-sandbox-key-secret"


def environ_for(token: str, body: bytes, path: str = "/api/bookings") -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def answer(app, environ: dict) -> tuple[int, bytes]:
    """Status code and body of the WSGI app's answer to ``environ``."""
    status = {}

    def start_response(s, headers, exc_info=None):
        status["code"] = int(s.split()[0])

    out = b"".join(app(environ, start_response))
    return status["code"], out


def call(app, token: str, payload: dict, path: str = "/api/bookings") -> tuple[int, dict]:
    code, out = answer(app, environ_for(token, json.dumps(payload).encode(), path))
    return code, json.loads(out)


def get(app, token: str | None, path: str) -> tuple[int, bytes]:
    """A GET answered by the WSGI app directly (with the parent's token, or none)."""
    environ = environ_for(token or "", b"", path)
    environ.update(REQUEST_METHOD="GET", CONTENT_TYPE="", CONTENT_LENGTH="0")
    if token is None:
        del environ["HTTP_AUTHORIZATION"]
    return answer(app, environ)


def sandbox_signature(order_id: str, payment_ref: str) -> str:
    """What the sandbox checkout hands back after the parent pays (Razorpay's scheme)."""
    return hmac.new(PAY_KEY_SECRET.encode(), f"{order_id}|{payment_ref}".encode(),
                    hashlib.sha256).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="slot_full requests to send")
    ap.add_argument("--profile", choices=["full", "held", "create", "confirm"],
                    help="cProfile this kind of answer (create, confirm: with --journey pay)")
    ap.add_argument("--journey", choices=["hold", "pay"], default="hold",
                    help="pay: each hold then creates its sandbox order and confirms it")
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--sort", default="cumulative", help="pstats sort key, e.g. tottime")
    ap.add_argument("--dump", help="also save the raw profile here (for pstats callers/callees)")
    ap.add_argument("--cpu-clock", action="store_true",
                    help="profile with process CPU time instead of wall time (waits on "
                         "PostgreSQL and Redis then count for nothing)")
    ap.add_argument("--statements", action="store_true",
                    help="also count the SQL statements each kind of answer sends (and print "
                         "the first answer's)")
    ap.add_argument("--reset", action="store_true",
                    help="first delete every booking, notification and outbox row and free all seats")
    opts = ap.parse_args()

    os.environ.update(stack.bench_env(JOBS_SYNC=os.environ.get("JOBS_SYNC", "false")))
    import psycopg2

    from nibog import create_app

    app = create_app()
    with psycopg2.connect(stack.db_url()) as conn, conn.cursor() as cur:
        if opts.reset:
            cur.execute("TRUNCATE bookings, booking_items, notifications, job_outbox, payments, "
                        "idempotency_keys CASCADE")
            cur.execute("UPDATE game_slots SET booked_count = 0")
            import redis

            marks = redis.Redis.from_url(stack.redis_url())
            for key in marks.scan_iter("slot-full:*"):
                marks.delete(key)
        cur.execute(
            "SELECT g.event_id, array_agg(s.id ORDER BY s.id), sum(s.capacity - s.booked_count) "
            "FROM game_slots s JOIN event_games g ON g.id = s.event_game_id "
            "GROUP BY g.event_id HAVING sum(s.booked_count) = 0 ORDER BY g.event_id DESC LIMIT 1"
        )
        event_id, slot_ids, free = cur.fetchone()
        cur.execute(
            "SELECT c.id, c.user_id FROM children c WHERE NOT EXISTS (SELECT 1 FROM booking_items i "
            "WHERE i.child_id = c.id AND i.slot_id = ANY(%s)) ORDER BY c.id LIMIT %s",
            (slot_ids, free + opts.n),
        )
        kids = cur.fetchall()
    with app.app_context():
        from flask_jwt_extended import create_access_token

        tokens = {
            uid: create_access_token(identity=str(uid), additional_claims={"role": "parent", "tv": 0})
            for _, uid in kids
        }

    def request_for(i: int):
        child_id, uid = kids[i]
        slot = slot_ids[i % len(slot_ids)]
        return tokens[uid], {"event_id": event_id, "items": [{"child_id": child_id, "slot_id": slot}]}

    def postgres_cpu() -> float:
        # The backends serving the bench database only (on a machine shared with other
        # databases' work, every postgres process would count theirs too); a backend the app
        # opens during the run counts from zero.
        return sum(procstat.cpu_seconds(pid) for pid in stack.postgres_backend_pids())

    pg_ms = {}
    sent: list[str] = []
    if opts.statements:
        from sqlalchemy import event

        with app.app_context():
            from nibog.extensions import db

            @event.listens_for(db.engine, "before_cursor_execute")
            def _count(conn, cursor, statement, parameters, context, executemany):
                # As written: a prepared statement goes on the wire as EXECUTE name(...).
                statement = context.statement if context is not None else statement
                sent.append(statement.split(None, 1)[0] if len(sent) > 50 else statement)

    def run(indexes, expect: int, profile: bool, send=None, kind=None) -> float:
        """CPU ms per answer of ``send(i)`` (default: the hold of attempt i) over ``indexes``."""
        send = send or (lambda i: call(app, *request_for(i)))
        pg0 = postgres_cpu()
        sent.clear()
        clock = (time.process_time,) if opts.cpu_clock else ()
        prof = cProfile.Profile(*clock) if profile else None
        t0 = time.process_time()
        if prof:
            prof.enable()
        for i in indexes:
            code, body = send(i)
            if code != expect:
                raise SystemExit(f"expected {expect}, got {code}: {body}")
        if prof:
            prof.disable()
            if opts.dump:
                prof.dump_stats(opts.dump)
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats(opts.sort).print_stats(opts.top)
            print(s.getvalue())
        pg_ms[kind or expect] = (postgres_cpu() - pg0) * 1000 / len(indexes)
        if opts.statements:
            per = len(sent) / len(indexes)
            first = [" ".join(x.split())[-230:] for x in sent[:12]]
            print(f"{kind or expect}: {per:.2f} SQL statements per answer; the first ones:",
                  *first, sep="\n  ")
        return (time.process_time() - t0) * 1000 / len(indexes)

    random.seed(1)
    if opts.journey == "pay":
        run_pay(app, run, request_for, free, pg_ms, event_id, opts.profile)
        return
    # Warm up caches and connections on one held answer first.
    held_ms = run(range(free), 201, opts.profile == "held")
    full_ms = run(range(free, free + opts.n), 409, opts.profile == "full")
    print(f"event {event_id}: held {free} at {held_ms:.2f} ms CPU each "
          f"(incl. in-process jobs); slot_full {opts.n} at {full_ms:.2f} ms CPU each; "
          f"PostgreSQL's CPU per answer: held {pg_ms[201]:.2f} ms, slot_full {pg_ms[409]:.2f} ms")
    # The floor under any hold: what the app spends answering at all, and answering a signed-in
    # parent (token checked, revocation asked, the user read) with no booking work.
    healthz_ms = run(range(opts.n), 200, False, kind="healthz",
                     send=lambda i: get(app, None, "/healthz"))
    me_ms = run(range(opts.n), 200, False, kind="me",
                send=lambda i: get(app, request_for(i)[0], "/api/users/me"))
    print(f"floors: GET /healthz {healthz_ms:.2f} ms CPU each; GET /api/users/me (a signed-in "
          f"parent, no booking work) {me_ms:.2f} ms CPU each, PostgreSQL {pg_ms['me']:.2f} ms")


def run_pay(app, run, request_for, free: int, pg_ms: dict, event_id: int, profile: str | None
            ) -> None:
    """The hold + pay journey in three phases: holds, then orders, then confirmations."""
    bookings: dict[int, int] = {}
    orders: dict[int, dict] = {}

    def hold(i):
        code, body = call(app, *request_for(i))
        if code == 201:
            bookings[i] = body["booking"]["id"]
        return code, body

    def create(i):
        token, _payload = request_for(i)
        code, body = call(app, token, {"booking_id": bookings[i]}, "/api/payments/create")
        if code == 201:
            orders[i] = body
        return code, body

    def confirm(i):
        token, _payload = request_for(i)
        order = orders[i]
        ref = "pay_" + os.urandom(7).hex()
        code, body = call(app, token, {
            "payment_id": order["payment_id"], "provider_payment_id": ref,
            "signature": sandbox_signature(order["provider_order_id"], ref),
        }, "/api/payments/confirm")
        if code == 200 and (body.get("status"), body.get("booking_status")) != ("captured", "confirmed"):
            return 599, body
        return code, body

    ms = {
        "hold": run(range(free), 201, profile == "held", hold, "hold"),
        "create": run(range(free), 201, profile == "create", create, "create"),
        "confirm": run(range(free), 200, profile == "confirm", confirm, "confirm"),
    }
    journey = sum(ms.values())
    print(f"event {event_id}: {free} journeys; CPU ms per answer: hold {ms['hold']:.2f}, "
          f"create {ms['create']:.2f}, confirm {ms['confirm']:.2f} (journey {journey:.2f}); "
          f"PostgreSQL's CPU ms per answer: hold {pg_ms['hold']:.2f}, create {pg_ms['create']:.2f}, "
          f"confirm {pg_ms['confirm']:.2f}")


if __name__ == "__main__":
    main()
