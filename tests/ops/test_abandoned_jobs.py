"""When a worker counts as dead (its jobs reclaimed at once), and when it must not."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from rq import Queue
from rq.registry import StartedJobRegistry

from nibog.core.abandoned_jobs import HORSE_PID_FIELD, reclaim_abandoned_jobs, worker_is_dead
from nibog.core.jobs import run_job
from nibog.extensions import get_redis


def _register(conn, name, **fields):
    conn.hset(f"rq:worker:{name}", mapping={k: str(v) for k, v in fields.items()})


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # exited and reaped: no such process (until the pid is reused)


def test_who_is_dead(app):
    conn = get_redis()
    host = socket.gethostname()
    assert worker_is_dead(conn, "gone") is True  # no registration: a live worker keeps one
    _register(conn, "elsewhere", hostname="another-host", pid=_dead_pid())
    assert worker_is_dead(conn, "elsewhere") is False  # cannot be checked: RQ's timers decide
    _register(conn, "crashed", hostname=host, pid=_dead_pid())
    assert worker_is_dead(conn, "crashed") is True
    _register(conn, "alive", hostname=host, pid=os.getppid())
    assert worker_is_dead(conn, "alive") is False
    # A killed forking worker whose work horse still runs the job: not abandoned.
    _register(conn, "horse", hostname=host, pid=_dead_pid(), **{HORSE_PID_FIELD: os.getppid()})
    assert worker_is_dead(conn, "horse") is False
    # This process reuses a dead worker's pid (pid 1 in a restarted container).
    _register(conn, "previous-me", hostname=host, pid=os.getpid())
    assert worker_is_dead(conn, "previous-me", me="me") is True
    assert worker_is_dead(conn, "me", me="me") is False
    # Re-created by a heartbeat after a Redis flush: no host or pid - not known to be dead.
    conn.hset("rq:worker:partial", "last_heartbeat", "now")
    assert worker_is_dead(conn, "partial") is False


def test_only_jobs_of_dead_workers_are_handed_back(app):
    conn = get_redis()
    host = socket.gethostname()
    queue = Queue("default", connection=conn)
    registry = StartedJobRegistry("default", connection=conn)
    jobs = {}
    for name, pid in (("dead-worker", _dead_pid()), ("live-worker", os.getppid())):
        _register(conn, name, hostname=host, pid=pid)
        job = queue.enqueue_call(func=run_job, args=("nibog.core.housekeeping.purge_expired",),
                                 retry=None)
        job.worker_name = name
        job.save()
        conn.zadd(registry.key, {f"{job.id}:exec-{name}": 10**10})  # running, far from expiry
        jobs[name] = job.id
        conn.lrem(queue.key, 0, job.id)  # taken off the queue, as a worker does

    assert reclaim_abandoned_jobs([queue], conn) == [jobs["dead-worker"]]
    assert registry.get_job_ids(cleanup=False) == [jobs["live-worker"]]
    # No retries left: RQ's handling moves it to the failed registry, as for any abandoned job.
    assert jobs["dead-worker"] in queue.failed_job_registry.get_job_ids()
    assert not conn.exists("rq:worker:dead-worker")
