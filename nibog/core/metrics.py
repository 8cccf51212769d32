"""Prometheus metrics: what each process counts, and what ``/metrics`` reads at scrape time.

Two kinds:
- Counters and histograms each process keeps (requests, bookings held/confirmed/expired/
  cancelled, payments, refunds, jobs, cache hits, rate-limit refusals). Under gunicorn (and in the
  RQ worker) ``PROMETHEUS_MULTIPROC_DIR`` is set before ``prometheus_client`` is imported, so each
  process writes its values to a small memory-mapped file and ``/metrics`` adds them up
  (prometheus-client's multiprocess mode; ``gunicorn.conf.py`` cleans the directory on start and
  marks dead workers). Without it (``flask run``, tests) one process keeps them in memory.
- State read from PostgreSQL and Redis when scraped (outbox lag, queue depths, failed jobs, stuck
  payments, seats sold per upcoming event, bookings per status), shared by every process and
  instance through the cache for ``METRICS_STATE_SECONDS``, so N scrapers cost one set of queries.

Business counters move only when the transaction that made the change commits
(``count_after_commit``): a rolled-back hold is not a hold. Label values come from small fixed
sets (route templates, statuses, queues, gateways), never from ids or user input, so the number of
series stays bounded.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import time
from typing import Any

from flask import Blueprint, Response, current_app, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.orm import Session

from nibog.core.secrets_compare import constant_time_equal

log = logging.getLogger(__name__)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# Latency buckets (seconds): a held seat answers in tens of milliseconds, a page in ~100 ms.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "nibog_http_requests", "HTTP requests answered, by route template, method and status",
    ("route", "method", "status"),
)
HTTP_LATENCY = Histogram(
    "nibog_http_request_duration_seconds", "Time to answer, by route template and method",
    ("route", "method"), buckets=LATENCY_BUCKETS,
)
BOOKINGS = Counter(
    "nibog_bookings", "Booking state changes (held, confirmed, expired, cancelled)", ("status",)
)
PAYMENTS = Counter(
    "nibog_payments", "Payment status changes, by gateway and new status", ("gateway", "status")
)
PAYMENT_FLAGS = Counter(
    "nibog_payment_flags", "Payments flagged for support (amount mismatch, double capture...)",
    ("gateway",),
)
REFUNDS = Counter("nibog_refunds", "Refund status changes (pending, processed, failed)", ("status",))
REFUND_PAISE = Counter("nibog_refunded_paise", "Paise paid back (processed refunds)")
WEBHOOK_REJECTED = Counter(
    "nibog_webhook_verification_failures", "Webhooks refused for a bad or missing signature",
    ("route",),
)
RATE_LIMITED = Counter("nibog_rate_limit_refusals", "Requests refused with 429", ("route",))
CACHE = Counter(
    "nibog_cache_lookups", "Cache lookups by cache and result", ("cache", "result")
)
JOBS_QUEUED = Counter("nibog_jobs_queued", "Jobs handed to RQ", ("queue",))
JOBS_STARTED = Counter("nibog_jobs_started", "Jobs a worker started", ("queue",))
JOBS_FAILED = Counter("nibog_jobs_failed", "Job runs that raised", ("queue",))
JOB_DURATION = Histogram(
    "nibog_job_duration_seconds", "Job run time", ("queue",),
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0),
)

# Pre-bound children for the hot paths: ``labels()`` takes a lock and builds a tuple each call.
CACHE_HIT = {name: CACHE.labels(name, "hit") for name in ("redis", "micro")}
CACHE_MISS = {name: CACHE.labels(name, "miss") for name in ("redis", "micro")}
_BOOKING = {s: BOOKINGS.labels(s) for s in ("held", "confirmed", "expired", "cancelled")}


# --- counting after the commit -----------------------------------------------------------------

_PENDING = "nibog_metric_counts"


def count_after_commit(child, amount: float = 1, session: Session | None = None) -> None:
    """Add ``amount`` to the counter ``child`` once the current transaction commits.

    Dropped when it rolls back, or when the savepoint it was counted in does.
    """
    if amount <= 0:
        return
    if session is None:
        from nibog.extensions import db

        session = db.session()
    session.info.setdefault(_PENDING, []).append(
        (child, amount, session.get_nested_transaction())
    )


def booking_changed(status: str, count: int = 1) -> None:
    """``status``: held, confirmed, expired or cancelled."""
    count_after_commit(_BOOKING[status], count)


def payment_changed(gateway: str, status: str) -> None:
    count_after_commit(PAYMENTS.labels(gateway, status))


@sa_event.listens_for(Session, "after_commit")
def _apply_counts(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint's release: its counts wait for the real commit
    pending = session.info.pop(_PENDING, None)
    if pending:
        for child, amount, _savepoint in pending:
            child.inc(amount)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_counts(session: Session, previous_transaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
    elif previous_transaction.nested:
        session.info[_PENDING] = [
            entry for entry in pending if not _within(entry[2], previous_transaction)
        ]


def _within(txn, savepoint) -> bool:
    while txn is not None:
        if txn is savepoint:
            return True
        txn = txn.parent
    return False


# --- state read at scrape time -----------------------------------------------------------------

_STATE_KEY = "metrics:state"


def read_state() -> dict[str, Any]:
    """Database and Redis figures, shared through the cache for METRICS_STATE_SECONDS."""
    from nibog.core import cache

    ttl = float(current_app.config.get("METRICS_STATE_SECONDS", 10))
    if ttl > 0:
        cached = cache.raw_get(_STATE_KEY)
        if cached is not None:
            return json.loads(cached)
    state = _collect_state()
    if ttl > 0:
        cache.raw_set(_STATE_KEY, json.dumps(state), ttl)
    return state


def _collect_state() -> dict[str, Any]:
    from nibog.extensions import db

    state: dict[str, Any] = {"errors": 0}
    stuck_minutes = int(current_app.config.get("STUCK_PAYMENT_MINUTES", 20))
    try:
        with db.engine.connect() as conn:
            if conn.dialect.name != "postgresql":
                return state  # the embedded SQLite default: nothing to watch from outside
            # Bounded: a slow scrape must never hold a connection for long.
            conn.execute(text("SET LOCAL statement_timeout = 5000"))
            row = conn.execute(text(
                "SELECT count(*), min(created_at) FROM job_outbox WHERE relayed_at IS NULL"
            )).one()
            state["outbox_pending"] = int(row[0])
            oldest = row[1]
            state["outbox_lag_seconds"] = (
                max(0.0, time.time() - oldest.timestamp()) if oldest is not None else 0.0
            )
            state["bookings"] = {
                status: int(n) for status, n in conn.execute(
                    text("SELECT status, count(*) FROM bookings GROUP BY status")
                )
            }
            state["payments_stuck"] = int(conn.execute(
                text("SELECT count(*) FROM payments WHERE status = 'created' "
                     "AND created_at < :cutoff"),
                {"cutoff": _ago(stuck_minutes * 60)},
            ).scalar_one())
            state["payment_mismatches"] = int(conn.execute(
                text("SELECT count(*) FROM payments WHERE failure_reason = 'amount_mismatch'")
            ).scalar_one())
            # Upcoming events only: the label set stays the size of the live catalogue.
            state["seats_taken"] = {}
            state["seats_capacity"] = {}
            for event_id, taken, capacity in conn.execute(text(
                    "SELECT e.id, sum(s.booked_count), sum(s.capacity) FROM events e "
                    "JOIN event_games g ON g.event_id = e.id "
                    "JOIN game_slots s ON s.event_game_id = g.id "
                    "WHERE e.event_date >= CURRENT_DATE - 1 GROUP BY e.id"
            )):
                state["seats_taken"][str(event_id)] = int(taken or 0)
                state["seats_capacity"][str(event_id)] = int(capacity or 0)
            conn.rollback()
    except Exception:  # noqa: BLE001 - a scrape reports what it could read
        log.warning("metrics: database state unreadable", exc_info=True)
        state["errors"] += 1
    state.update(_queue_state(state))
    return state


def _queue_state(state: dict) -> dict[str, Any]:
    from nibog.core.jobs import QUEUES
    from nibog.extensions import get_redis

    conn = get_redis()
    if conn is None:
        return {}
    from rq import Queue
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    out: dict[str, dict] = {"queue_depth": {}, "queue_failed": {}, "queue_running": {}}
    try:
        for name in QUEUES:
            queue = Queue(name, connection=conn)
            out["queue_depth"][name] = queue.count
            out["queue_failed"][name] = FailedJobRegistry(queue=queue).count
            out["queue_running"][name] = StartedJobRegistry(queue=queue).count
    except Exception:  # noqa: BLE001
        log.warning("metrics: queue state unreadable", exc_info=True)
        state["errors"] += 1
    return out


def _ago(seconds: int):
    from datetime import timedelta

    from nibog.core.timeutil import utcnow

    return utcnow() - timedelta(seconds=seconds)


class StateCollector:
    """Exposes ``read_state()`` as gauges (one scrape, one read)."""

    def __init__(self, state: dict[str, Any]):
        self.state = state

    def collect(self):
        s = self.state

        def gauge(name, doc, value=None, labels=(), samples=None):
            family = GaugeMetricFamily(name, doc, labels=list(labels) or None)
            if samples is None:
                family.add_metric([], float(value or 0))
            else:
                for key, v in sorted(samples.items()):
                    family.add_metric([key], float(v))
            return family

        yield gauge("nibog_outbox_pending_jobs", "Outbox rows not yet handed to RQ",
                    s.get("outbox_pending"))
        yield gauge("nibog_outbox_lag_seconds", "Age of the oldest outbox row not yet handed over",
                    s.get("outbox_lag_seconds"))
        yield gauge("nibog_bookings_by_status", "Bookings per status (all time)",
                    labels=("status",), samples=s.get("bookings") or {})
        yield gauge("nibog_payments_stuck", "Payments left 'created' past STUCK_PAYMENT_MINUTES",
                    s.get("payments_stuck"))
        yield gauge("nibog_payment_amount_mismatches", "Captures whose amount did not match",
                    s.get("payment_mismatches"))
        yield gauge("nibog_event_seats_taken", "Seats held or sold per upcoming event",
                    labels=("event_id",), samples=s.get("seats_taken") or {})
        yield gauge("nibog_event_seats_capacity", "Seats per upcoming event",
                    labels=("event_id",), samples=s.get("seats_capacity") or {})
        yield gauge("nibog_queue_depth", "Jobs waiting per RQ queue",
                    labels=("queue",), samples=s.get("queue_depth") or {})
        yield gauge("nibog_queue_failed_jobs", "Jobs in each queue's failed registry",
                    labels=("queue",), samples=s.get("queue_failed") or {})
        yield gauge("nibog_queue_running_jobs", "Jobs running per queue",
                    labels=("queue",), samples=s.get("queue_running") or {})
        yield gauge("nibog_metrics_state_errors", "Parts of the state this scrape could not read",
                    s.get("errors"))


def process_registry() -> CollectorRegistry:
    """Every process's counters: summed from the multiprocess files, or this process's own."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


# --- the endpoint ------------------------------------------------------------------------------

bp = Blueprint("metrics", __name__)


def _networks() -> list:
    raw = current_app.config.get("METRICS_ALLOWED_NETWORKS") or ""
    nets = current_app.extensions.get("nibog_metrics_networks")
    if nets is None or nets[0] != raw:
        parsed = []
        for part in raw.split(","):
            if part.strip():
                parsed.append(ipaddress.ip_network(part.strip(), strict=False))
        nets = current_app.extensions["nibog_metrics_networks"] = (raw, parsed)
    return nets[1]


def scrape_allowed() -> bool:
    """From a configured network (the address as ProxyFix left it), or with the bearer token."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and constant_time_equal(header[7:].strip(), token):
        return True
    try:
        addr = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(addr in net for net in _networks())


@bp.get("/metrics")
def metrics():
    from nibog.core.errors import error_response

    if not scrape_allowed():
        return error_response(403, "forbidden", "Metrics are not public")
    output = generate_latest(process_registry())
    state_registry = CollectorRegistry()
    state_registry.register(StateCollector(read_state()))
    output += generate_latest(state_registry)
    return Response(output, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Cache-Control": "no-store", "Content-Type": CONTENT_TYPE_LATEST})
