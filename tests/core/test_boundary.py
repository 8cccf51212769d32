"""The transaction boundary: requests, jobs and commands commit once; nothing else commits."""

from __future__ import annotations

import ast
import pathlib

import click
import pytest
from flask import Flask
from sqlalchemy import func, select

from nibog.catalog.models import City
from nibog.core import boundary
from nibog.core.errors import AppError
from nibog.core.jobs import job
from nibog.core.models import OutboxJob
from nibog.extensions import db

NIBOG = pathlib.Path(__file__).resolve().parents[2] / "nibog"
BOUNDARY = NIBOG / "core" / "boundary.py"
# Modules that are entry points of their own (a job or a command working through many items
# commits each item in its own unit of work).
UNIT_OF_WORK_ALLOWED = ("tasks.py", "_tasks.py", "cli.py", "jobs.py")


def _calls(path: pathlib.Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == name)
            or (isinstance(node.func, ast.Name) and node.func.id == name)
        )
    ]


def test_no_module_outside_the_boundary_commits():
    offenders = [
        f"{path.relative_to(NIBOG.parent)}:{line}"
        for path in sorted(NIBOG.rglob("*.py")) if path != BOUNDARY
        for line in _calls(path, "commit")
    ]
    assert offenders == []


def test_units_of_work_only_in_jobs_and_commands():
    offenders = [
        f"{path.relative_to(NIBOG.parent)}:{line}"
        for path in sorted(NIBOG.rglob("*.py"))
        if path != BOUNDARY and not path.name.endswith(UNIT_OF_WORK_ALLOWED)
        for line in _calls(path, "unit_of_work")
    ]
    assert offenders == []


def test_every_view_is_inside_the_boundary(app):
    assert boundary.unguarded_endpoints(app) == []


def _cities() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(City.slug).order_by(City.slug)))


def _view(outcome: str):
    def view():
        db.session.add(City(name=f"City {outcome}", slug=outcome))
        db.session.flush()
        if outcome == "raises":
            raise AppError("conflict", "no", status=409)
        if outcome == "answers-422":
            return {"error": "bad"}, 422
        if outcome == "counts-422":
            boundary.keep_on_error()
            return {"error": "bad but counted"}, 422
        return {"ok": True}, 201

    return boundary.transactional(view)


@pytest.mark.parametrize(
    "outcome, kept",
    [("succeeds", True), ("raises", False), ("answers-422", False), ("counts-422", True)],
)
def test_a_request_commits_on_success_and_rolls_back_on_error(app, outcome, kept):
    view = _view(outcome)
    with app.test_request_context("/", method="POST"):
        try:
            view()
        except AppError:
            pass
    assert _cities() == ([outcome] if kept else [])


@job("default", retries=0)
def _queue_a_city(slug: str) -> None:
    db.session.add(City(name=slug, slug=slug))


def test_a_failed_request_queues_no_job(app):
    def view():
        _queue_a_city.delay("from-failed-request")
        raise AppError("conflict", "no", status=409)

    with app.test_request_context("/", method="POST"), pytest.raises(AppError):
        boundary.transactional(view)()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OutboxJob)) == 0


def test_a_job_commits_its_work_or_none_of_it(app):
    boundary.run_unit(_queue_a_city, "job-done")

    def failing():
        _queue_a_city("job-half-done")
        db.session.flush()
        raise RuntimeError("gateway down")

    with pytest.raises(RuntimeError):
        boundary.run_unit(failing)
    assert _cities() == ["job-done"]


def test_a_rollback_releases_what_the_unit_registered(app):
    released = []

    def failing():
        boundary.on_rollback(lambda: released.append("key"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        boundary.run_unit(failing)
    boundary.run_unit(lambda: boundary.on_rollback(lambda: released.append("never")))
    assert released == ["key"]


def test_a_command_commits_once_when_it_returns(app, runner):
    @click.command("make-city")
    @click.argument("slug")
    def make_city(slug):
        db.session.add(City(name=slug, slug=slug))

    make_city.callback.__module__ = "nibog.test_command"
    group = click.Group(commands={"make-city": make_city})
    boundary.install_command_boundary(group)
    result = runner.invoke(group, ["make-city", "from-cli"])
    assert result.exit_code == 0, result.output
    assert _cities() == ["from-cli"]


# --- rules found missing by mutation testing (docs/testing.md, "Mutation testing") -----------

# Commits and rollbacks seen by hooks while a test listens. Hooks are process-wide and stay
# registered (there is no unregister), so each test registers fresh ones that go quiet after it.
COMMITS: list[str] = []
ROLLBACKS: list[str] = []


def _fail() -> None:
    raise RuntimeError("boom")


@pytest.fixture
def hooks(app):
    listening = [True]

    def on_commit():
        if listening:
            COMMITS.append("commit")

    def on_rollback():
        if listening:
            ROLLBACKS.append("rollback")

    COMMITS.clear()
    ROLLBACKS.clear()
    assert boundary.after_commit(on_commit) is on_commit
    assert boundary.after_rollback(on_rollback) is on_rollback
    yield on_commit, on_rollback
    listening.clear()


@pytest.fixture
def commits(hooks):
    return COMMITS


def test_hooks_run_after_each_commit_or_rollback_once_however_often_registered(hooks):
    on_commit, on_rollback = hooks
    # Registered again (a second app in the same process registers its hooks again): still once.
    boundary.after_commit(on_commit)
    boundary.after_rollback(on_rollback)
    boundary.run_unit(_queue_a_city, "hooked")
    assert COMMITS == ["commit"] and ROLLBACKS == []
    with pytest.raises(RuntimeError):
        boundary.run_unit(_fail)
    assert COMMITS == ["commit"] and ROLLBACKS == ["rollback"]


def test_a_committed_units_rollback_callbacks_are_forgotten(app):
    released = []
    boundary.run_unit(lambda: boundary.on_rollback(lambda: released.append("committed unit")))
    # The next unit rolls back: only its own callbacks run, not the committed unit's.
    with pytest.raises(RuntimeError):
        boundary.run_unit(_fail)
    assert released == []


def test_a_view_wrapped_twice_commits_once(app, commits):
    view = boundary.transactional(_view("succeeds"))
    assert boundary.transactional(view) is view
    with app.test_request_context("/", method="POST"):
        view()
    assert commits == ["commit"]
    assert _cities() == ["succeeds"]


def test_every_view_but_static_is_wrapped_and_a_late_view_is_named():
    # A bare app of its own: the suite's app has every view installed already.
    mini = Flask("boundary_test", static_folder=str(NIBOG.parent / "static"))
    static = mini.view_functions["static"]

    def hello():
        return "hi"

    def late():
        return "late"

    mini.add_url_rule("/hello", "hello", hello)
    boundary.install_request_boundary(mini)
    assert mini.view_functions["static"] is static  # files need no transaction
    assert mini.view_functions["hello"].__wrapped__ is hello
    assert boundary.unguarded_endpoints(mini) == []
    mini.add_url_rule("/late", "late", late)
    assert boundary.unguarded_endpoints(mini) == ["late"]


def test_commands_are_wrapped_once_ours_only_in_every_group(app, runner, commits):
    def make(name, module):
        @click.command(name)
        def command():
            db.session.add(City(name=name, slug=name))

        command.callback.__module__ = module
        return command

    foreign = make("foreign", "flask_migrate.cli")
    foreign_callback = foreign.callback
    sub = click.Group("sub", commands={"in-sub": make("in-sub", "nibog.test_command")})
    # A group and a foreign command come first: the commands after them are still wrapped.
    group = click.Group(commands={"sub": sub, "foreign": foreign,
                                  "ours": make("ours", "nibog.test_command")})
    boundary.install_command_boundary(group)
    wrapped = group.commands["ours"].callback
    boundary.install_command_boundary(group)  # a second app installs it again
    assert group.commands["ours"].callback is wrapped
    assert foreign.callback is foreign_callback  # Flask-Migrate's commands manage their own

    result = runner.invoke(group, ["ours"])
    assert result.exit_code == 0, result.output
    assert commits == ["commit"]  # once, not once per install
    result = runner.invoke(group, ["sub", "in-sub"])
    assert result.exit_code == 0, result.output
    assert _cities() == ["in-sub", "ours"]
