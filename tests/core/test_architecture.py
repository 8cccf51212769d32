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
