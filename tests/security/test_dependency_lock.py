"""The hashed lock files agree with requirements*.txt: every pin there is locked at the same
version, and every locked package carries hashes (``make lock`` after changing a pin)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line.startswith("-r "):
            pins.update(_pins(path.parent / line[3:].strip()))
        elif match := PIN.match(line.strip()):
            pins[_norm(match[1])] = match[2]
    return pins


def _locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    locked: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            current = _norm(match[1])
            locked[current] = (match[2], 0)
        elif current and "--hash=sha256:" in line:
            version, hashes = locked[current]
            locked[current] = (version, hashes + 1)
    return locked


@pytest.mark.parametrize(("source", "lock"), [("requirements.txt", "requirements.lock"),
                                              ("requirements-dev.txt", "requirements-dev.lock")])
def test_every_pin_is_locked_at_its_version_with_hashes(source, lock):
    pins, locked = _pins(ROOT / source), _locked(ROOT / lock)
    assert pins and locked
    wrong = {n: (v, locked.get(n, ("missing", 0))[0]) for n, v in pins.items()
             if locked.get(n, ("", 0))[0] != v}
    assert not wrong, f"{lock} is out of date (run `make lock`): {wrong}"
    unhashed = [n for n, (_, hashes) in locked.items() if hashes == 0]
    assert not unhashed, unhashed


def test_the_runtime_lock_is_the_dev_lock_minus_the_tools():
    runtime, dev = _locked(ROOT / "requirements.lock"), _locked(ROOT / "requirements-dev.lock")
    differ = {n: (v, dev.get(n, ("missing",))[0]) for n, (v, _) in runtime.items()
              if dev.get(n, ("",))[0] != v}
    assert not differ, f"the two locks disagree: {differ}"
