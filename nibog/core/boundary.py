"""The transaction boundary: one commit per request, job or command.

Services and helpers change objects and ``flush()``; they never commit. The entry points commit,
once, through this module (a test fails if any other module calls ``commit()``):

- a **request**: every view is wrapped (``install_request_boundary``); a response below 400 commits,
  an exception or an error status rolls back;
- a **job**: ``run_unit`` wraps the job function (``nibog.core.jobs`` calls it);
- a **CLI command**: every ``flask`` command is wrapped (``install_command_boundary``);
- a job or command that works through many independent items commits each one in its own
  ``unit_of_work()`` (a failure then loses one item, not the batch, and locks stay short).

After a commit the hooks registered with ``after_commit`` run (the job outbox hands its jobs over);
after a rollback the ``after_rollback`` hooks run (queued jobs are dropped), and so do callbacks a
unit registered with ``on_rollback`` (an idempotency key to release, say). Modelled on Indico's
``RH`` (one commit per request, rollback on error, mail only after the commit).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask, Response, current_app, g

from nibog.extensions import db

log = logging.getLogger(__name__)

_after_commit: list[Callable[[], None]] = []
_after_rollback: list[Callable[[], None]] = []
_ROLLBACK_CALLBACKS = "nibog_on_rollback"


def after_commit(hook: Callable[[], None]) -> Callable[[], None]:
    """Register ``hook`` to run after every boundary commit (process-wide)."""
    if hook not in _after_commit:
        _after_commit.append(hook)
    return hook


def after_rollback(hook: Callable[[], None]) -> Callable[[], None]:
    """Register ``hook`` to run after every boundary rollback (process-wide)."""
    if hook not in _after_rollback:
        _after_rollback.append(hook)
    return hook


def on_rollback(callback: Callable[[], None]) -> None:
    """Run ``callback`` if the current unit of work rolls back (forgotten once it commits)."""
    db.session().info.setdefault(_ROLLBACK_CALLBACKS, []).append(callback)


def commit() -> None:
    session = db.session()
    try:
        session.commit()
    except BaseException:
        rollback()
        raise
    session.info.pop(_ROLLBACK_CALLBACKS, None)
    for hook in _after_commit:
        hook()


def rollback() -> None:
    session = db.session()
    callbacks = session.info.pop(_ROLLBACK_CALLBACKS, None) or ()
    session.rollback()
    for hook in _after_rollback:
        hook()
    for callback in callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001 - clean-up must not hide the error that rolled back
            log.exception("rollback callback failed")


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did, or roll it back if it raised."""
    try:
        yield
    except BaseException:
        rollback()
        raise
    commit()


def run_unit(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A job's boundary: call ``func`` and commit its work, or roll it back if it raised."""
    with unit_of_work():
        return func(*args, **kwargs)


# --- requests -------------------------------------------------------------------------------

def keep_on_error() -> None:
    """Commit this request's work even though it answers with an error status (a failed guess
    that must be counted, say)."""
    g.nibog_keep_on_error = True


def transactional(view: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(view, "__nibog_boundary__", False):
        return view

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            rollback()
            raise
        if response.status_code < 400 or g.pop("nibog_keep_on_error", False):
            commit()
        else:
            rollback()
        return response

    wrapper.__nibog_boundary__ = True
    return wrapper


def install_request_boundary(app: Flask) -> None:
    """Wrap every view registered so far; call after the blueprints are registered."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = transactional(view)


def unguarded_endpoints(app: Flask) -> list[str]:
    """Endpoints that escaped the boundary (a view registered after ``install_request_boundary``)."""
    return sorted(
        endpoint for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not getattr(view, "__nibog_boundary__", False)
    )


# --- CLI commands ---------------------------------------------------------------------------

def install_command_boundary(group: click.Group) -> None:
    """Wrap every command of ``group`` (recursively): its work commits once when it returns."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            install_command_boundary(command)
            continue
        callback = command.callback
        # Our commands only: Flask-Migrate's `db` group manages its own connections.
        if callback is None or not callback.__module__.startswith("nibog"):
            continue
        if not getattr(callback, "__nibog_boundary__", False):
            command.callback = _command_unit(callback)


def _command_unit(callback: Callable[..., Any]) -> Callable[..., Response | None]:
    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run_unit(callback, *args, **kwargs)

    wrapper.__nibog_boundary__ = True
    return wrapper
