"""The real processes: gunicorn's workers add up in one /metrics, and the RQ worker reports too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from rq import Queue

from nibog.core.jobs import run_job
from nibog.extensions import get_redis
from tests.ops.support import sample

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return resp.status, resp.read().decode()


def _wait_for(url: str, proc, seconds: float = 90) -> None:
    # Generous: on a loaded 2-core machine gunicorn's workers have taken over 30 s to boot.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited: {proc.stdout.read()[-3000:]}")
        try:
            _get(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def _env(app, tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        NIBOG_ENV="development",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
        ACCESS_LOG="0",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


@pytest.fixture
def stop_later():
    procs = []
    yield procs.append
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_gunicorn_workers_report_one_sum_that_survives_a_worker_restart(app, tmp_path, stop_later):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT, env=_env(app, tmp_path, PORT=str(port), WEB_CONCURRENCY="2"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    stop_later(proc)
    base = f"http://127.0.0.1:{port}"
    _wait_for(base + "/healthz", proc)
    for _ in range(29):  # 30 with the probe above, on fresh connections: both workers answer
        assert _get(base + "/healthz")[0] == 200
    deadline = time.monotonic() + 20
    while len(list(tmp_path.glob("counter_*.db"))) < 2 and time.monotonic() < deadline:
        _get(base + "/healthz")  # until the second worker has answered at least once
    answered = sample(_get(base + "/metrics")[1], "nibog_http_requests_total",
                      route="/healthz", status="200")
    assert answered >= 30
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per worker, added up

    # A worker dies and is replaced: what it counted stays in the sum.
    pids = [int(p.stem.split("_")[-1]) for p in tmp_path.glob("counter_*.db")]
    os.kill(pids[0], signal.SIGKILL)
    time.sleep(1.5)
    _wait_for(base + "/healthz", proc)
    after = sample(_get(base + "/metrics")[1], "nibog_http_requests_total",
                   route="/healthz", status="200")
    assert after >= answered + 1


def test_the_rq_worker_reports_its_jobs(app, tmp_path, stop_later):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "worker.py", "default"],
        cwd=ROOT, env=_env(app, tmp_path, WORKER_METRICS_PORT=str(port), RQ_PERIODIC="0",
                           WORKER_NICE="0"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    stop_later(proc)
    url = f"http://127.0.0.1:{port}/metrics"
    _wait_for(url, proc)
    queue = Queue("default", connection=get_redis())
    ok = queue.enqueue_call(func=run_job, args=("nibog.core.housekeeping.purge_expired",))
    bad = queue.enqueue_call(func=run_job, args=("nibog.core.housekeeping.no_such_job",))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = _get(url)[1]
        if sample(text, "nibog_jobs_started_total", queue="default") >= 2 and \
                sample(text, "nibog_jobs_failed_total", queue="default") >= 1:
            break
        time.sleep(0.3)
    assert sample(text, "nibog_jobs_started_total", queue="default") == 2
    assert sample(text, "nibog_jobs_failed_total", queue="default") == 1
    assert sample(text, "nibog_job_duration_seconds_count", queue="default") == 2
    ok.refresh()
    bad.refresh()
    assert ok.get_status() == "finished" and bad.get_status() == "failed"
