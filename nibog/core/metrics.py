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

import logging
import os

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from nibog.extensions import db

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


def process_registry() -> CollectorRegistry:
    """Every process's counters: summed from the multiprocess files, or this process's own."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY
