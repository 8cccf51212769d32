"""The transaction boundary: requests, jobs and commands commit once; nothing else commits."""

from __future__ import annotations

import ast
import pathlib

import click
import pytest
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
