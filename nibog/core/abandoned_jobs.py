"""Jobs left behind by a worker that died mid-job (SIGKILL, the OOM killer, a lost machine).

RQ finds such a job by itself, but late: its entry in the queue's started registry expires only
when the job's timeout plus 60 s have passed since its last heartbeat (4 minutes for our default
180 s timeout, 31 for a report), and is looked at only at a worker's next maintenance (every 10
minutes by default). Then RQ's own abandoned-job handling retries it (the job's ``Retry``) or
moves it to the failed registry.

A worker restarted on the same machine (systemd, the platform's supervisor, a container restart)
need not wait: at start and at every maintenance, ``reclaim_abandoned_jobs`` looks at the started
registries, and a job whose worker ran on this host and whose processes no longer exist - or
whose worker registration is gone, which a live worker keeps - is expired at once and handed to
RQ's same handling. A worker on another host that stopped answering is left to RQ's timers: a
process there cannot be checked, and running a live job twice is what this must not cause.
Jobs are idempotent anyway (``nibog.core.jobs``): a run that did its work before dying is found
done by the rerun.
"""

from __future__ import annotations

import logging
import os
import socket

from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry

log = logging.getLogger(__name__)

# Stored in the worker's Redis hash by a forking worker: the work horse outlives a killed parent.
HORSE_PID_FIELD = "nibog_horse_pid"
# Scores at or below this are expired in every registry: ``cleanup(timestamp=EXPIRED)`` then
# takes exactly the entries marked here, not the ones that are merely due.
EXPIRED = 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def worker_is_dead(connection, worker_name: str | None, me: str | None = None) -> bool:
    """True only when the worker is certainly gone: registration expired, or it ran on this host
    and none of its processes exist any more."""
    if not worker_name or worker_name == me:
        return False
    key = f"rq:worker:{worker_name}"
    if not connection.exists(key):
        return True  # a live worker keeps its key (every heartbeat renews it)
    hostname, pid, horse = connection.hmget(key, "hostname", "pid", HORSE_PID_FIELD)
    if (hostname or b"").decode() != socket.gethostname() or not pid:
        return False
    pids = [int(pid)] + ([int(horse)] if horse and int(horse) else [])
    if me is not None and int(pid) == os.getpid():
        # This process reuses the dead one's pid (pid 1 in a restarted container): it is not us.
        return True
    return not any(_alive(p) for p in pids)


def reclaim_abandoned_jobs(queues, connection, me: str | None = None) -> list[str]:
    """Hand the jobs of dead workers on this host back to RQ now. Returns their ids."""
    reclaimed: list[str] = []
    for queue in queues:
        registry = StartedJobRegistry(queue.name, connection=connection)
        marked = {}
        for entry in connection.zrange(registry.key, 0, -1):
            job_id = registry.parse_job_id(entry)
            try:
                job = Job.fetch(job_id, connection=connection)
            except NoSuchJobError:
                continue
            if worker_is_dead(connection, job.worker_name, me):
                if job.retries_left:
                    # Retried at once: the job did not fail, its worker died. (A backoff would
                    # wait for RQ's scheduler, whose lock the dead worker may still hold.)
                    connection.hdel(job.key, "retry_intervals")
                marked[entry] = EXPIRED
                reclaimed.append(job_id)
                connection.delete(f"rq:worker:{job.worker_name}")
        if marked:
            connection.zadd(registry.key, marked, xx=True)
            # RQ's abandoned-job path: retried while the job has retries left, else failed.
            registry.cleanup(timestamp=EXPIRED)
    if reclaimed:
        log.warning("reclaimed %s job(s) of dead workers: %s", len(reclaimed), ", ".join(reclaimed))
    return reclaimed
