"""No test waits for a thread without a limit: a deadlock must fail the test, not hang the run.

Read from the source (the AST of every test module): a ``.join()`` with no argument (or a
``None`` timeout) waits forever - ``str.join`` always takes one, so such a call is a thread's,
a process's or a queue's. A join with a timeout returns quietly when the thread is still
running, so the same function must then ask ``is_alive()`` (``race.join_all`` does both).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# Joins whose thread may outlive them: the browser tests' server thread, stopped at teardown
# (bounded all the same; there is no race result to protect).
UNCHECKED_ALLOWED = {("tests/browser/conftest.py", "live_server")}


def _is_none(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _joins(tree):
    """(function, join call) for every ``.join(...)`` call, by enclosing function."""
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "join"):
                    yield func, node


def _unbounded(call) -> bool:
    if not call.args and not call.keywords:
        return True
    timeout = call.args[0] if call.args else next(
        (k.value for k in call.keywords if k.arg == "timeout"), None)
    return timeout is not None and _is_none(timeout)


def _thread_timeout(call) -> bool:
    """A join given a number or ``timeout=`` (never ``str.join``'s iterable)."""
    return any(k.arg == "timeout" and not _is_none(k.value) for k in call.keywords) or (
        len(call.args) == 1 and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, int | float))


def _asks_is_alive(func) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "is_alive" for n in ast.walk(func))


def _offences():
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for func, call in _joins(tree):
            name = str(path.relative_to(TESTS.parent))
            where = f"{name}:{call.lineno}"
            if _unbounded(call):
                found.append(f"{where}: join without a timeout")
            elif _thread_timeout(call) and not _asks_is_alive(func) \
                    and (name, func.name) not in UNCHECKED_ALLOWED:
                found.append(f"{where}: join with a timeout, but {func.name} never asks is_alive()")
    return found


def test_every_thread_join_has_a_timeout_and_a_check():
    assert _offences() == []


def test_the_check_finds_an_unbounded_join_and_an_unchecked_one(tmp_path):
    # The check itself must be able to fail.
    tree = ast.parse(
        "def a(t):\n    t.join()\n"
        "def b(t):\n    t.join(timeout=None)\n"
        "def c(t):\n    t.join(5)\n"
        "def d(t):\n    t.join(5)\n    assert not t.is_alive()\n"
        "def e(parts):\n    return ', '.join(parts)\n")
    flagged = {(f.name, _unbounded(c), _thread_timeout(c) and not _asks_is_alive(f))
               for f, c in _joins(tree)}
    assert flagged == {("a", True, False), ("b", True, False), ("c", False, True),
                       ("d", False, False), ("e", False, False)}
