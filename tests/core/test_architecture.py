"""Structure rules a reviewer would otherwise have to remember (the layers: .importlinter)."""

from __future__ import annotations

import ast
import pathlib

NIBOG = pathlib.Path(__file__).resolve().parents[2] / "nibog"
MAX_LINES = 400


def _modules():
    return sorted(NIBOG.rglob("*.py"))


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nibog"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private:
                    offenders.append(f"{path.relative_to(NIBOG.parent)}:{node.lineno} {private}")
    assert offenders == []


def test_modules_stay_small_enough_to_read_in_one_sitting():
    long = [
        f"{path.relative_to(NIBOG.parent)}: {n} lines"
        for path in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES + 5
    ]
    assert long == []


def _statement_lists(node):
    for field in ("body", "orelse", "finalbody"):
        block = getattr(node, field, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(node, "handlers", []):
        yield handler.body


def _unexplained_imports(path: pathlib.Path) -> list[str]:
    """Function-level imports of nibog modules with no ``# lazy:`` reason on their line or in
    the comment lines directly above their run of import statements."""
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines), filename=str(path))
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            for block in _statement_lists(node):
                run_start = None
                for stmt in block:
                    if not isinstance(stmt, ast.Import | ast.ImportFrom):
                        run_start = None
                        continue
                    if run_start is None:
                        # the run of imports, with the comment lines right above it
                        run_start = stmt.lineno - 1
                        while run_start > 0 and lines[run_start - 1].strip().startswith("#"):
                            run_start -= 1
                    names = (
                        [a.name for a in stmt.names] if isinstance(stmt, ast.Import)
                        else ["." * stmt.level + (stmt.module or "")]
                    )
                    if not any(n.startswith(("nibog", ".")) for n in names):
                        continue
                    text = "\n".join(lines[run_start:stmt.end_lineno])
                    if "# lazy:" not in text:
                        found.append(f"{path.relative_to(NIBOG.parent)}:{stmt.lineno} {names[0]}")
    return found


def test_imports_inside_functions_say_why():
    """An import inside a function hides a dependency from the reader (and, in this codebase's
    past, an import cycle): a nibog module is imported at the top, or the function-level import
    says why not with a ``# lazy: reason`` comment on its line or right above it."""
    offenders = sorted({hit for path in _modules() for hit in _unexplained_imports(path)})
    assert offenders == []
