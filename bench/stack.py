"""The production-like stack the bench runs against: gunicorn (per gunicorn.conf.py) + RQ worker.

Every process is started in its own session and killed as a group on exit (normal end, error,
Ctrl-C or SIGTERM), so a failed run leaves nothing behind.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from procstat import children_of

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOG_DIR = ROOT / "instance" / "bench"

# A machine shared with other benches or test runs: give each its own (e.g. BENCH_DB=nibog_h21_bench
# BENCH_REDIS=redis://127.0.0.1:6380 BENCH_REDIS_DB=53).
BENCH_DB = os.environ.get("BENCH_DB", "nibog_bench")
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "1"))
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")

_procs: list[subprocess.Popen] = []


def db_url() -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB


def redis_url() -> str:
    return f"{REDIS_BASE}/{BENCH_REDIS_DB}"


def bench_env(**extra: str) -> dict:
    """Production settings with throwaway secrets, pointed at the bench database and Redis db."""
    env = dict(os.environ)
    env.update(
        NIBOG_ENV="production",
        SECRET_KEY="bench-secret-key-not-used-anywhere-else",
        JWT_SECRET_KEY="bench-jwt-secret-not-used-anywhere-else",
        # Tokens minted at set-up must outlive a full run with every lever.
        JWT_ACCESS_TOKEN_SECONDS="7200",
        DATABASE_URL=db_url(),
        REDIS_URL=redis_url(),
        RATELIMIT_ENABLED="false",
        FLASK_APP="wsgi",
        PYTHONUNBUFFERED="1",
        MAIL_BACKEND="console",
        SMS_BACKEND="console",
        WHATSAPP_BACKEND="console",
        PAYMENT_PROVIDER="sandbox",
        PAYMENT_SANDBOX_ALLOWED="true",  # production refuses the sandbox without it
        # The sandbox's signing key (production has no public default); the hold + pay burst
        # signs its checkout answers with it, as the sandbox checkout page does.
        RAZORPAY_KEY_SECRET="bench-sandbox-key-secret",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def bench_pids() -> list[int]:
    """Every process this bench started and is still running (for --priority)."""
    return [p.pid for p in _procs if p.poll() is None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recreate_database() -> None:
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{BENCH_DB}"')
    conn.close()


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(redis_url()).flushdb()


def run_flask(*args: str, env: dict | None = None) -> str:
    out = subprocess.run(
        [str(BIN / "flask"), *args], cwd=ROOT, env=env or bench_env(),
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def _spawn(cmd: list[str], env: dict, log_name: str) -> subprocess.Popen:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(LOG_DIR / log_name, "ab")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    _procs.append(proc)
    return proc


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
    if proc in _procs:
        _procs.remove(proc)


def stop_all() -> None:
    for proc in list(_procs):
        stop(proc, grace=5.0)


def _on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


class Web:
    """gunicorn -c gunicorn.conf.py wsgi:app, the Procfile's `web` line, on a free port."""

    def __init__(self, settings: dict | None = None, label: str = "web"):
        self.settings = settings or {}
        self.port = free_port()
        self.label = label
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Web:
        env = bench_env(PORT=self.port, **self.settings)
        cmd = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind",
               f"127.0.0.1:{self.port}", "wsgi:app"]
        self.proc = _spawn(cmd, env, f"{self.label}.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {LOG_DIR / (self.label + '.log')}")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as resp:
                    if resp.status == 200 and len(self.worker_pids()) >= self.expected_workers():
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def expected_workers(self) -> int:
        return int(self.settings.get("WEB_CONCURRENCY", os.environ.get("WEB_CONCURRENCY", 1)))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def master_pid(self) -> int:
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid) if self.proc else []

    def all_pids(self) -> list[int]:
        return [self.proc.pid, *self.worker_pids()] if self.proc else []

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


class RqWorker:
    """python worker.py, the Procfile's `worker` line."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None

    def start(self) -> RqWorker:
        self.proc = _spawn([sys.executable, "worker.py"], bench_env(), "worker.log")
        time.sleep(0.5)
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker.py exited; see {LOG_DIR / 'worker.log'}")
        return self

    def pids(self) -> list[int]:
        if not self.proc or self.proc.poll() is not None:
            return []
        return [self.proc.pid, *children_of(self.proc.pid)]

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


def postgres_backend_pids() -> list[int]:
    """Backends serving the bench database (not other databases on the same server)."""
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN_URL)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (BENCH_DB,),
            )
            return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def set_autogroup_nice(pid: int, niceness: int) -> bool:
    """Linux schedules by session ("autogroup"): a plain nice value only ranks processes within
    their own session. This sets the priority of the session ``pid`` belongs to (root only)."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness))
        return True
    except OSError:
        return False


class Prioritiser(threading.Thread):
    """``run.py --priority N``: the bench's sessions and the bench database's PostgreSQL backends
    (each backend is its own session) get autogroup niceness N while the bench runs.

    Only for a development machine shared with other work (other people's test suites); it never
    touches any other process, and the backends it changed are gone when the bench stops.
    """

    def __init__(self, niceness: int, pids):
        super().__init__(daemon=True)
        self.niceness = niceness
        self.pids = pids
        self.halt = threading.Event()
        self.done: set[int] = set()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                for pid in [*self.pids(), *postgres_backend_pids()]:
                    if pid not in self.done and set_autogroup_nice(pid, self.niceness):
                        self.done.add(pid)
            except Exception:  # noqa: BLE001 - best effort only
                pass
            self.halt.wait(0.25)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=2)


def redis_server_pids() -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "redis-server":
                    out.append(int(entry.name))
            except OSError:
                continue
    return out
