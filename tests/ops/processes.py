"""Real processes for the fault tests: free ports, their environment, waiting, and stopping."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(app, **extra) -> dict:
    """The environment of a web or worker process on the test's database and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        NIBOG_ENV="development",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        ACCESS_LOG="0",
        LOG_LEVEL="WARNING",
        RQ_PERIODIC="0",
        WORKER_NICE="0",
        **{k: str(v) for k, v in extra.items()},
    )
    return env


def spawn(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process (stop)
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path = log_path
    log.close()
    return proc


def output(proc) -> str:
    return Path(proc.log_path).read_text(errors="replace")[-4000:]


def stop(proc, sig=signal.SIGTERM, timeout: float = 20) -> None:
    """Stop one process we started (its own session: gunicorn's workers go with it)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Whatever the leader left in its group (RQ's scheduler process, a work horse) goes too.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(check, what: str, seconds: float = 60, procs=(), every: float = 0.1):
    """Poll ``check`` until it returns something truthy; fail early if a process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"process exited while waiting for {what}:\n{output(proc)}")
        time.sleep(every)
    details = "\n".join(output(p) for p in procs)
    raise AssertionError(f"gave up waiting for {what}\n{details}")


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None,
         timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def answers(url: str) -> bool:
    try:
        return http("GET", url, timeout=1)[0] == 200
    except OSError:
        return False
