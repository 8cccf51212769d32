"""RQ worker with the scheduler (Procfile `worker`): runs every queue, and the periodic jobs.

On start it relays outbox rows left behind while Redis was unreachable, then starts the periodic
scheduler thread (see ``nibog/core/periodic.py``) and works the queues; RQ's own scheduler
(``with_scheduler``) moves retries with backoff back onto their queues.
"""

from __future__ import annotations

import logging
import os
import sys

if os.environ.get("WORKER_METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Multiprocess metrics are chosen when prometheus_client is imported (by nibog, below):
    # the worker and any work horse it forks then write to files its listener adds up.
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="nibog-worker-metrics-")

from nibog import create_app  # noqa: E402
from nibog.core.jobs import QUEUES  # noqa: E402
from nibog.extensions import db, get_redis  # noqa: E402

log = logging.getLogger("nibog.worker")


def _worker_class():
    """SimpleWorker by default; ``RQ_WORKER_FORK=1`` forks a work horse per job.

    Our jobs are short (emails, seat recounts, gateway calls). Forking costs ~85 ms of CPU per
    job, which in a sales burst (two jobs per booking) competed with the web workers for the
    same cores; running jobs in the worker process costs nothing. Forking isolates a job that
    leaks or crashes, for deployments that prefer that.
    """
    from rq import SimpleWorker, Worker

    class HoldsBackForTheWeb:
        """Before taking a job, waits (bounded) while the CPUs are oversubscribed
        (``nibog.core.cpu_pacing``)."""

        pacer = None

        def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
            if self.pacer is not None:
                self.pacer.before_job()
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

        def run_maintenance_tasks(self):
            # At start and every RQ_MAINTENANCE_SECONDS: jobs of a worker on this host that died
            # mid-job go back to RQ now, not minutes later (nibog.core.abandoned_jobs).
            from nibog.core.abandoned_jobs import reclaim_abandoned_jobs

            try:
                reclaim_abandoned_jobs(self.queues, self.connection, me=self.name)
            except Exception:  # noqa: BLE001 - RQ's own timers still recover them
                log.exception("reclaiming abandoned jobs failed")
            return super().run_maintenance_tasks()

    if os.environ.get("RQ_WORKER_FORK", "0") != "1":

        class NibogSimpleWorker(HoldsBackForTheWeb, SimpleWorker):
            def perform_job(self, job, queue):
                try:
                    return super().perform_job(job, queue)
                finally:
                    # Jobs share this process's session: a failed one must not leave it dirty.
                    db.session.remove()

        return NibogSimpleWorker

    class NibogWorker(HoldsBackForTheWeb, Worker):
        def fork_work_horse(self, job, queue):
            super().fork_work_horse(job, queue)
            # The horse outlives a SIGKILLed parent: its job is not abandoned while it runs.
            from nibog.core.abandoned_jobs import HORSE_PID_FIELD

            self.connection.hset(self.key, HORSE_PID_FIELD, self.horse_pid)

        def main_work_horse(self, job, queue):
            # In the forked child: drop inherited connections without closing the parent's.
            db.engine.dispose(close=False)
            return super().main_work_horse(job, queue)

    return NibogWorker


def yield_cpu_to_web() -> None:
    """Run jobs at a lower CPU priority than the web process (``WORKER_NICE``, default 10).

    In a sales burst the web workers answer thousands of parents at once while every held seat
    queues an e-mail; on a small machine the e-mails can wait a few seconds, the answers cannot.
    Linux schedules processes by session ("autogroup"), where plain ``nice`` does nothing across
    sessions, so both the process's and its autogroup's niceness are raised. A busy machine
    still runs the jobs; an idle one runs them at once.
    """
    level = int(os.environ.get("WORKER_NICE", "10"))
    if level <= 0:
        return
    try:
        os.nice(level)
    except OSError:
        pass
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(level))
    except OSError:
        pass  # no autogroups (or not Linux): os.nice above is what applies


def serve_metrics() -> None:
    """``WORKER_METRICS_PORT``: this worker's job counters on their own /metrics listener.

    On the web machine the worker can instead share the web's PROMETHEUS_MULTIPROC_DIR (the web's
    /metrics then includes it). The top of this module chose the multiprocess directory
    before anything imported prometheus_client.
    """
    port = os.environ.get("WORKER_METRICS_PORT")
    if not port:
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    # Loopback by default: the scraper reaches it through the host's own network policy.
    start_http_server(int(port), addr=os.environ.get("WORKER_METRICS_ADDR", "127.0.0.1"),
                      registry=registry)


def die_with_this_process() -> None:
    """Every process this worker forks (RQ's scheduler, a work horse) dies when it dies.

    A forked child inherits the worker's open PostgreSQL connections. When the worker was killed
    (SIGKILL, the OOM killer) mid-job, RQ's scheduler process lived on, orphaned, holding the
    socket of the dead job's transaction open: the server never saw the client go, so the job's
    row locks stayed held and its retry failed on them (found by tests/ops/test_worker_killed.py).
    Linux's parent-death signal ends such a child with its parent.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def in_child() -> None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the worker died before the signal was armed
            os._exit(1)

    os.register_at_fork(after_in_child=in_child)


def main(argv: list[str]) -> int:
    from rq import Queue

    die_with_this_process()
    serve_metrics()
    NibogWorker = _worker_class()  # noqa: N806
    yield_cpu_to_web()

    app = create_app()
    with app.app_context():
        conn = get_redis()
        if conn is None:
            print("REDIS_URL is not set: jobs run in-process; no worker needed.", file=sys.stderr)
            return 1
        names = argv or os.environ.get("RQ_QUEUES", ",".join(QUEUES)).split(",")
        from nibog.core.cpu_pacing import pacer_for_worker
        from nibog.core.outbox import relay_outbox
        from nibog.core.periodic import register_periodic_jobs
        from nibog.tasks import PERIODIC_JOBS

        try:
            relay_outbox(grace_seconds=0)
        except Exception:  # noqa: BLE001 - the periodic relay will try again
            log.exception("outbox relay on start failed")
        stop = None
        if os.environ.get("RQ_PERIODIC", "1") != "0":
            stop = register_periodic_jobs(conn, PERIODIC_JOBS)
        relay_stop = _start_relay(app)
        # The app's client has a short socket timeout (requests must not hang on Redis); the
        # worker blocks on BLPOP for minutes, so it needs its own client without one, or it
        # dies after the first idle stretch.
        import redis

        conn = redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5,
                                    health_check_interval=30)
        queues = [Queue(name, connection=conn) for name in names]
        # A forked work horse must not share the parent's pooled connections.
        db.session.remove()
        db.engine.dispose()
        # RQ's registry maintenance (abandoned jobs, see HoldsBackForTheWeb) every minute rather
        # than every 10 (RQ's default).
        worker = NibogWorker(queues, connection=conn, maintenance_interval=int(
            os.environ.get("RQ_MAINTENANCE_SECONDS", "60")))
        worker.pacer = pacer_for_worker(
            queues,
            threshold=float(os.environ.get("WORKER_YIELD_PRESSURE", "0.5")),
            max_wait=float(os.environ.get("WORKER_YIELD_MAX_SECONDS", "10")),
        )
        try:
            worker.work(with_scheduler=True)
        finally:
            if stop is not None:
                stop.set()
            if relay_stop is not None:
                relay_stop.set()
    return 0


def _start_relay(app):
    """With JOBS_HANDOFF=relay the requests leave committed jobs in the outbox: push them."""
    import threading

    from nibog.core.outbox import run_relay

    if app.config.get("JOBS_HANDOFF") != "relay":
        return None
    stop = threading.Event()
    threading.Thread(target=run_relay, args=(app, stop), name="nibog-relay", daemon=True).start()
    return stop


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
