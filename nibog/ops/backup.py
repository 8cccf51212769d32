"""``flask backup`` and ``flask restore``: pg_dump's custom format, kept in the storage backend.

A backup is one ``pg_dump --format=custom`` file stored under ``BACKUP_PREFIX`` (local disk or S3,
``nibog.documents.storage``) plus an entry in ``<prefix>/index.json`` with its size and SHA-256;
the newest ``BACKUP_KEEP`` are kept. A restore checks the digest, then runs ``pg_restore`` in one
transaction into a database that must be empty: restoring over live data is never what anyone
means at 3 a.m. The client tools (``pg_dump``/``pg_restore``) must be at least the server's major
version (Debian: ``postgresql-client-15``).

Dumps are logical and consistent (one snapshot); they complement, not replace, the managed
database's continuous WAL archiving (point-in-time recovery, docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from nibog.core.timeutil import utcnow
from nibog.documents.storage import get_storage


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Backup:
    key: str
    size: int
    sha256: str
    created_at: str


def libpq_target(sqlalchemy_url: str | URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries it
    (a password on the command line would show in ``ps``)."""
    url = make_url(sqlalchemy_url) if isinstance(sqlalchemy_url, str) else sqlalchemy_url
    if not url.drivername.startswith("postgresql"):
        raise BackupError("backups need PostgreSQL (DATABASE_URL), not " + url.drivername)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{cmd[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def _index_key() -> str:
    return f"{current_app.config['BACKUP_PREFIX']}/index.json"


def list_backups() -> list[Backup]:
    storage = get_storage()
    if not storage.exists(_index_key()):
        return []
    return [Backup(**entry) for entry in json.loads(storage.get(_index_key()))]


def _write_index(entries: list[Backup]) -> None:
    body = json.dumps([e.__dict__ for e in entries], indent=1).encode()
    get_storage().put(_index_key(), body, "application/json")


def create_backup(database_url: str | None = None) -> Backup:
    """Dump the database, store it, index it and drop the oldest past BACKUP_KEEP."""
    dsn, env = libpq_target(database_url or current_app.config["SQLALCHEMY_DATABASE_URI"])
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    key = f"{current_app.config['BACKUP_PREFIX']}/nibog-{stamp}.dump"
    with tempfile.TemporaryDirectory(prefix="nibog-backup-") as tmp:
        path = Path(tmp) / "dump"
        # --no-owner/--no-privileges: the restore target's roles may differ (managed hosts).
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
              f"--file={path}", f"--dbname={dsn}"], env)
        data = path.read_bytes()
    storage = get_storage()
    storage.put(key, data)
    backup = Backup(key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                    created_at=datetime.now(UTC).isoformat(timespec="seconds"))
    entries = [e for e in list_backups() if e.key != key] + [backup]
    keep = max(1, int(current_app.config.get("BACKUP_KEEP", 14)))
    for old in entries[:-keep]:
        storage.delete(old.key)
    _write_index(entries[-keep:])
    return backup


def _fetch(source: str) -> tuple[bytes, Backup | None]:
    """``source``: a stored key (``backups/nibog-....dump``), ``latest``, or a local file path."""
    entries = list_backups()
    if source == "latest":
        if not entries:
            raise BackupError("no backups recorded in " + _index_key())
        source = entries[-1].key
    known = next((e for e in entries if e.key == source), None)
    if known is not None:
        return get_storage().get(source), known
    path = Path(source)
    if path.is_file():
        return path.read_bytes(), None
    raise BackupError(f"no backup {source!r} (neither a stored key nor a file)")


def database_is_empty(database_url: str | URL) -> bool:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return not conn.execute(text(
                "SELECT count(*) FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                "AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
            )).scalar_one()
    finally:
        engine.dispose()


def restore_backup(source: str, database_url: str) -> Backup | None:
    """Restore ``source`` into the EMPTY database at ``database_url``, all or nothing."""
    data, known = _fetch(source)
    if known is not None and hashlib.sha256(data).hexdigest() != known.sha256:
        raise BackupError(f"{known.key} does not match its recorded SHA-256: refusing to restore")
    if not database_is_empty(database_url):
        raise BackupError("the target database is not empty: restore only into a new database")
    dsn, env = libpq_target(database_url)
    with tempfile.TemporaryDirectory(prefix="nibog-restore-") as tmp:
        path = Path(tmp) / "dump"
        path.write_bytes(data)
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
              "--single-transaction", f"--dbname={dsn}", str(path)], env)
    return known
