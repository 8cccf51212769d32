"""`make mutate [MODULE=auth/otp]`: mutation testing of the seat and money core with mutmut.

Each module (mutation/modules.py) runs in its own work directory `.mutmut/<module>/`, which holds
mutmut's generated setup.cfg, its copy of the project (`mutants/`) and its results, so modules
can be run, re-run and inspected one at a time and a re-run only tests what changed.

The tests need PostgreSQL and Redis: TEST_DATABASE_URL / TEST_REDIS_URL as for `make test`.
The schema is migrated once into `<database>_mut_template`; each mutant's test session copies it
(mutation/pytest_plugin.py). MUTATE_JOBS mutants run at once (default 2), each on its own
database and Redis number, as pytest-xdist workers gw0, gw1 ... would.

    python mutation/run.py [MODULE ...]      # run (all modules without arguments)
    python mutation/run.py --list            # the modules and their test selections
    python mutation/run.py --retest MODULE   # only the survivors again (after new tests)
    python mutation/run.py --survivors MODULE  # diff of every surviving mutant
    python mutation/run.py --only 'x_begin*' MODULE  # only these mutants (fnmatch), checked again
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "mutation"))
from modules import MODULES, TIMEOUT_MULTIPLIER  # noqa: E402

BIN = ROOT / ".venv" / "bin"
WORK = ROOT / ".mutmut"
# What the app needs besides the package itself; linked into each mutants/ copy unchanged.
LINKED = ["migrations", "templates", "static", "translations", "pytest.ini"]
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/nibog_test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
TIMED_OUT = {36, -24, 24, 152, 255}  # mutmut's "timeout" exit codes (SIGXCPU, its wall limit)
KILLED = {1, 3} | TIMED_OUT  # a mutant that hangs the tests is caught, as mutmut counts it


def workdir(module: str) -> Path:
    return WORK / module.replace("/", "-")


def prepare(module: str) -> Path:
    files, tests = MODULES[module]
    wd = workdir(module)
    (wd / "mutants").mkdir(parents=True, exist_ok=True)
    for name in ["nibog", "tests"]:
        link = wd / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    for name in LINKED:
        link = wd / "mutants" / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    shutil.copy(ROOT / "mutation" / "pytest_plugin.py", wd / "mutants" / "mutmut_pg.py")
    tests = [t for t in tests if (ROOT / t).exists()]
    cfg = [
        "[mutmut]",
        "source_paths = nibog",
        "only_mutate =\n" + "".join(f"    {f}\n" for f in files),
        "pytest_add_cli_args_test_selection =\n" + "".join(f"    {t}\n" for t in tests),
        # -p: the slot and template-database plugin; no cache: mutants share nothing.
        "pytest_add_cli_args =\n    -p\n    mutmut_pg\n    -p\n    no:cacheprovider\n",
        # A mutant's test session also builds the app and copies the database (not counted in
        # the measured test durations): a constant allowance before a mutant counts as a timeout.
        "timeout_constant = 30",
        f"timeout_multiplier = {TIMEOUT_MULTIPLIER.get(module, 10)}",
        "mutate_only_covered_lines = false",
        "",
    ]
    (wd / "setup.cfg").write_text("\n".join(cfg))
    return wd


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("TEST_DATABASE_URL", DEFAULT_DB)
    e.setdefault("TEST_REDIS_URL", DEFAULT_REDIS)
    e["NIBOG_ENV"] = "testing"
    # Commits need not wait for the disk: thousands of short test sessions each truncate every
    # table; durability after a crash means nothing for a throw-away test database.
    e["PGOPTIONS"] = (e.get("PGOPTIONS", "") + " -c synchronous_commit=off").strip()
    return e


def make_template(e: dict[str, str]) -> str:
    """Migrate `<test database>_mut_template` once; each test session copies it."""
    code = """
import os, sys
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from nibog.config import normalise_database_url
base = make_url(normalise_database_url(os.environ["TEST_DATABASE_URL"]))
url = base.set(database=base.database + "_mut_template")
admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as conn:
    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
admin.dispose()
from nibog import create_app
from nibog.extensions import db
app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
                  "REDIS_URL": os.environ["TEST_REDIS_URL"]})
with app.app_context():
    from flask_migrate import upgrade
    upgrade()
    db.engine.dispose()
print(url.database)
"""
    out = subprocess.run([str(BIN / "python"), "-c", code], cwd=ROOT, env=e, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def results(module: str) -> dict[str, int]:
    """Exit code of every mutant of the module, from mutmut's .meta files."""
    codes: dict[str, int] = {}
    for meta in glob.glob(str(workdir(module) / "mutants" / "**" / "*.py.meta"), recursive=True):
        with open(meta) as f:
            codes.update(json.load(f)["exit_code_by_key"])
    return codes


def summary(module: str) -> str:
    codes = results(module)
    killed = sum(1 for c in codes.values() if c in KILLED)
    timed_out = sum(1 for c in codes.values() if c in TIMED_OUT)
    survived = sorted(k for k, c in codes.items() if c == 0)
    untested = sorted(k for k, c in codes.items() if c in (5, 33))
    unchecked = [k for k, c in codes.items() if c is None]
    other = sorted(k for k, c in codes.items() if c not in KILLED and c not in (0, 5, 33, None))
    checked = len(codes) - len(unchecked)
    score = 100.0 * killed / checked if checked else 0.0
    lines = [f"{module}: {len(codes)} mutants, {checked} checked: {killed} killed ({score:.1f} %; "
             f"{timed_out} of them timed out), "
             f"{len(survived)} survived, {len(untested)} without tests, {len(other)} other; "
             f"{len(unchecked)} not checked yet (run again to go on)"]
    lines += [f"  survived  {k}" for k in survived]
    lines += [f"  no tests  {k}" for k in untested]
    lines += [f"  other     {k} (exit {codes[k]})" for k in other]
    return "\n".join(lines)


def run(module: str, e: dict[str, str], retest: bool = False, only: list[str] | None = None) -> int:
    wd = prepare(module)
    jobs = e.get("MUTATE_JOBS", "2")
    e = dict(e, MUTATE_LOCK_DIR=str(wd), MUTATE_SLOTS=jobs)
    # A finished mutant keeps its verdict; --retest runs the survivors (and those no test
    # reached) again, after new tests were written for them.
    names = [k for k, c in results(module).items() if c in (0, 5, 33)] if retest else []
    # mutmut matches each name with fnmatch against the full names (`nibog.<module>.x_...`).
    names += [f"*.{pattern}" if "." not in pattern else pattern for pattern in only or []]
    if retest and not names:
        print(f"{module}: no surviving mutants")
        return 0
    if retest:
        # mutmut keeps which tests call which function from its first run and only adds new
        # tests to it: after a rename or a changed caller the survivors would run the old
        # callers' tests. A re-test collects that map afresh (one run of the selection).
        (wd / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    started = time.monotonic()
    cmd = [str(BIN / "mutmut"), "run", "--max-children", jobs, *names]
    rc = subprocess.run(cmd, cwd=wd, env=e).returncode
    print(f"\n{summary(module)}\n({module}: {time.monotonic() - started:.0f} s, mutmut exit {rc})",
          flush=True)
    return rc


def survivors(module: str, e: dict[str, str]) -> None:
    wd = workdir(module)
    for name, code in sorted(results(module).items()):
        if code == 0:
            subprocess.run([str(BIN / "mutmut"), "show", name], cwd=wd, env=e)


def main(argv: list[str]) -> int:
    e = env()
    if argv[:1] == ["--list"]:
        for name, (files, tests) in MODULES.items():
            print(f"{name}: {' '.join(files)}\n    tests: {' '.join(tests)}")
        return 0
    if argv[:1] == ["--survivors"]:
        for module in argv[1:]:
            survivors(module, e)
        return 0
    retest = argv[:1] == ["--retest"]
    if retest:
        argv = argv[1:]
    only = []
    while argv[:1] == ["--only"] and len(argv) > 1:
        only.append(argv[1])
        argv = argv[2:]
    modules = argv or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        print(f"unknown module(s) {unknown}; known: {', '.join(MODULES)}")
        return 2
    e["MUTATE_TEMPLATE_DB"] = make_template(e)
    rc = 0
    for module in modules:
        rc = run(module, e, retest, only) or rc
    if len(modules) > 1:
        print("\n" + "\n".join(summary(m).splitlines()[0] for m in modules))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
