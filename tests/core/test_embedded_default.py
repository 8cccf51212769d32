"""`make run`'s embedded default: SQLite, no Redis, jobs in-process — the main flows work."""

from __future__ import annotations

import os
import subprocess
import sys

from nibog.config import ROOT


def test_main_flows_work_on_sqlite_without_redis(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "NIBOG_ENV")}
    env.update({"FLASK_APP": "wsgi", "DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.db'}",
                "STORAGE_LOCAL_PATH": str(tmp_path / "files")})

    def run(*args):
        return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=180)

    for step in (["-m", "flask", "db", "upgrade"], ["-m", "flask", "seed-demo"]):
        done = run(*step)
        assert done.returncode == 0, done.stderr
    flow = run("-m", "tests.core.embedded_flow")
    assert flow.returncode == 0, flow.stdout[-3000:] + flow.stderr[-3000:]
    assert "embedded flow ok" in flow.stdout
