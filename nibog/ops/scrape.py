"""The /metrics endpoint: every process's counters plus figures read from PostgreSQL and Redis
at scrape time (outbox lag, queue depth, stuck payments ...), shared between scrapers through
the cache. Protected: a configured network or the bearer token."""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from nibog.core import cache
from nibog.core.errors import error_response
from nibog.core.jobs import QUEUES
from nibog.core.metrics import process_registry
from nibog.core.secrets_compare import constant_time_equal
from nibog.core.timeutil import utcnow
from nibog.extensions import db, get_redis

log = logging.getLogger(__name__)

_STATE_KEY = "metrics:state"


def read_state() -> dict[str, Any]:
    """Database and Redis figures, shared through the cache for METRICS_STATE_SECONDS."""
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
    if not scrape_allowed():
        return error_response(403, "forbidden", "Metrics are not public")
    output = generate_latest(process_registry())
    state_registry = CollectorRegistry()
    state_registry.register(StateCollector(read_state()))
    output += generate_latest(state_registry)
    return Response(output, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Cache-Control": "no-store", "Content-Type": CONTENT_TYPE_LATEST})
