"""pytest plugin for mutation runs (`-p mutmut_pg`, copied into mutants/ by mutation/run.py).

mutmut runs each mutant's tests in a fresh pytest session in a forked process, so the suite's
session fixture would rebuild the test database from the migrations for every mutant, and two
mutants running at once would share (and drop) one database. This plugin, without touching
tests/conftest.py:

- gives each running session a slot (an exclusive lock on a file): slot N uses the database
  and Redis number that pytest-xdist worker gwN would use, so parallel mutants never share;
- replaces the migration run by a copy of a template database that run.py migrated once
  (CREATE DATABASE ... TEMPLATE, well under a second);
- empties the statement caches (``_STATEMENTS`` of a ``nibog`` module) before every test: a
  statement built on first use is otherwise built once in mutmut's stats run, and every
  forked mutant session inherits it, so no mutant of its builder could ever be run.
"""

from __future__ import annotations

import fcntl
import os
import sys

_slot_fd: int | None = None
_saved_worker: str | None = None


def pytest_configure(config):
    global _slot_fd, _saved_worker
    lock_dir = os.environ.get("MUTATE_LOCK_DIR")
    if not lock_dir:
        return
    slots = int(os.environ.get("MUTATE_SLOTS", "2"))
    index = 0
    while _slot_fd is None:
        # A slot is free once the session holding it ends (or its process dies): wait for it
        # rather than fail, since pytest's exit code for an error here would count as a kill.
        fd = os.open(os.path.join(lock_dir, f"slot{index % slots}.lock"), os.O_CREAT | os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if index < slots else 0))
        except BlockingIOError:
            os.close(fd)
            index += 1
            continue
        _slot_fd = fd
    _saved_worker = os.environ.get("PYTEST_XDIST_WORKER")
    os.environ["PYTEST_XDIST_WORKER"] = f"gw{index % slots}"

    template = os.environ.get("MUTATE_TEMPLATE_DB")
    if template:
        import flask_migrate

        flask_migrate.upgrade = _copy_template(template)


def pytest_runtest_setup(item):
    if not os.environ.get("MUTATE_LOCK_DIR"):
        return
    for name, module in list(sys.modules.items()):
        cache = getattr(module, "_STATEMENTS", None) if name.startswith("nibog.") else None
        if isinstance(cache, dict):
            cache.clear()


def pytest_unconfigure(config):
    global _slot_fd
    if _slot_fd is None:
        return
    if _saved_worker is None:
        os.environ.pop("PYTEST_XDIST_WORKER", None)
    else:
        os.environ["PYTEST_XDIST_WORKER"] = _saved_worker
    os.close(_slot_fd)
    _slot_fd = None


def _copy_template(template: str):
    def upgrade(*args, **kwargs):
        import sqlalchemy as sa

        from nibog.extensions import db

        url = db.engine.url
        db.engine.dispose()
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
                conn.execute(sa.text(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"'))
        finally:
            admin.dispose()

    return upgrade
