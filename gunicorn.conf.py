"""gunicorn settings for the `web` process (Procfile). Every value can be overridden by env.

Defaults come from the booking-burst benchmark on a 2-core machine (`make bench`;
docs/performance.md records what every other setting gave). In short: gthread, because it holds
thousands of open connections (sync cannot: past net.core.somaxconn they are refused) and gevent
needs a blocking Redis pool first (gevent is not installed by requirements.txt: a benchmark lever
only, from requirements-bench.txt). Once the booking path got lighter (full-slot fast path, no fork
per RQ job), 3 workers x 4 threads beat 2 x 8 by ~15 % on 2 cores; once the hold and the full-slot
answer got lighter still, 4 workers x 2 threads beat 3 x 4 in five paired runs out of five
(295-385 against 237-361 attempts/s): fewer threads per process contend less for the GIL. Memory is
~120 MiB per worker.

Sizing rule for the database: every worker process keeps at most DB_POOL_SIZE + DB_MAX_OVERFLOW
PostgreSQL connections, so WEB_CONCURRENCY x (DB_POOL_SIZE + DB_MAX_OVERFLOW) + the RQ workers'
connections must stay well under PostgreSQL's max_connections (100 by default).
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Only gthread uses threads (gunicorn silently turns "sync" with threads > 1 into gthread).
threads = int(os.environ.get("GUNICORN_THREADS", "2")) if worker_class == "gthread" else 1
# Connections one worker keeps open (gthread and gevent); past that it stops accepting and they
# wait in the kernel's queue, which is what `backlog` sizes. gthread counts a kept-alive
# connection until the client closes it or `keepalive` expires, so in a burst of 5000 one-request
# clients, 4 x 1000 left the last thousand waiting in the queue for the first answers to expire
# (a stall of `keepalive` seconds, docs/performance.md); 4 x 2000 holds the whole burst.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "2000"))
# Room for a sales burst: thousands of connections wait in the kernel queue, not refused.
# Linux caps it at net.core.somaxconn (4096 on current kernels).
backlog = int(os.environ.get("GUNICORN_BACKLOG", "8192"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# "auto" parses requests in C when gunicorn-h1c is installed (requirements.txt): the burst's
# requests are parsed, and answered, for less CPU than by the pure-Python parser ("python").
http_parser = os.environ.get("GUNICORN_HTTP_PARSER", "auto")
accesslog = os.environ.get("GUNICORN_ACCESSLOG")  # off by default: the app logs requests
errorlog = "-"

# One pool connection per thread, plus two: a booking request with an Idempotency-Key holds two
# connections at once, so a pool smaller than the thread count can deadlock until pool_timeout.
# (A smaller pool did speed the burst up a little; see docs/performance.md.)
if worker_class == "gthread":
    os.environ.setdefault("DB_POOL_SIZE", str(threads))
    os.environ.setdefault("DB_MAX_OVERFLOW", "2")

# Prometheus multiprocess mode (nibog/core/metrics.py): every worker writes its counters to files
# here and /metrics, answered by any worker, adds them up. Set before any worker imports
# prometheus_client; one directory per gunicorn instance (on_starting empties it).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="nibog-metrics-")


def on_starting(server):
    """A fresh start: counters from a previous run's workers would be added to this one's."""
    import glob

    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.remove(path)


def child_exit(server, worker):
    """A dead worker's live gauges must not be reported; its counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    """GIL switch interval (bench lever); under gevent, psycopg2 yielding to other greenlets.

    Without this every query blocks the whole worker (libpq does its own socket I/O, which the
    gevent monkey-patching cannot see). Same technique as the psycogreen package.
    """
    interval = os.environ.get("PY_SWITCH_INTERVAL")
    if interval:
        import sys

        sys.setswitchinterval(float(interval))
    if worker_class != "gevent":
        return
    import psycopg2
    from psycopg2 import extensions

    def wait_callback(conn, timeout=None):
        from gevent.socket import wait_read, wait_write

        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                wait_read(conn.fileno(), timeout=timeout)
            elif state == extensions.POLL_WRITE:
                wait_write(conn.fileno(), timeout=timeout)
            else:
                raise psycopg2.OperationalError(f"bad state from poll: {state!r}")

    extensions.set_wait_callback(wait_callback)
