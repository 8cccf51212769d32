"""deploy/compose.yaml stays consistent with the Procfile, the settings the app reads and the
image it builds; and it is a valid compose file (checked by docker compose when it is here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
REQUIRED = {"POSTGRES_PASSWORD": "pw", "SECRET_KEY": "s", "JWT_SECRET_KEY": "j",
            "PAYMENT_PROVIDER": "razorpay"}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: cmd.strip() for name, _, cmd in (ln.partition(":") for ln in lines if ln.strip())}


def test_the_services_run_the_procfile_commands():
    services = _compose()["services"]
    assert {"web", "worker", "release", "postgres", "redis", "pgbouncer"} <= services.keys()
    for name, command in _procfile().items():
        assert " ".join(services[name]["command"]) == command, name
    # Migrations before the app: web and worker wait for the release to finish.
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["release"]["condition"] == \
            "service_completed_successfully"
    assert services["pgbouncer"]["profiles"] == ["pgbouncer"]  # optional
    assert services["pgbouncer"]["environment"]["POOL_MODE"] == "transaction"
    assert "noeviction" in services["redis"]["command"]  # queues must never be evicted


def test_every_app_setting_is_one_the_app_reads():
    config = (ROOT / "nibog" / "config.py").read_text()
    read = set(re.findall(r'(?:os\.environ\.get|_int|_bool)\(\s*"([A-Z0-9_]+)"', config))
    read |= {"FLASK_APP", "PORT"}
    env = _compose()["x-app-env"]
    assert not sorted(set(env) - read), "settings the app does not read"
    assert env["JOBS_HANDOFF"] == "relay" and env["NIBOG_ENV"] == "production"


def test_the_image_installs_the_hashed_lock():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
    assert (ROOT / "requirements.lock").exists()


def _compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.mark.skipif(_compose_cli() is None, reason="neither `docker compose` nor docker-compose "
                    "is installed; the structural checks above still ran")
def test_docker_compose_accepts_the_file():
    cli = _compose_cli()
    env = {**os.environ, **REQUIRED}
    for profile in ([], ["--profile", "pgbouncer"]):
        out = subprocess.run([*cli, "-f", str(COMPOSE), *profile, "config", "-q"],
                             capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
    # A required secret left unset is refused, not defaulted.
    env.pop("SECRET_KEY")
    out = subprocess.run([*cli, "-f", str(COMPOSE), "config", "-q"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode != 0 and "SECRET_KEY" in out.stderr
