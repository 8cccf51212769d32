"""`make audit` (and CI): pip-audit over the hashed lock files; known vulnerabilities fail.

pip-audit asks a vulnerability service about every pinned release: PyPI's JSON API by default
(``AUDIT_SERVICE=osv`` for OSV). When the service cannot be reached, or answers for none of the
packages (a registry mirror without the per-release JSON answers "not found" for each), nothing
was audited: the step says so plainly and passes - a machine without the service must not fail
CI - instead of printing "No known vulnerabilities found" over an audit that never happened.
``AUDIT_STRICT=1`` turns that skip into a failure (for a machine that should reach the service).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-dev.lock")


def audit(lock: str) -> tuple[str, str]:
    """('ok'|'vulnerable'|'unreachable', details) for one lock file."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        cmd = [sys.executable, "-m", "pip_audit", "-r", str(ROOT / lock), "--require-hashes",
               "--disable-pip", "--progress-spinner", "off", "-f", "json", "-o", str(report),
               "-s", os.environ.get("AUDIT_SERVICE", "pypi")]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            return "unreachable", "pip-audit timed out"
        if not report.exists():
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            return "unreachable", last[:300]
        deps = json.loads(report.read_text())["dependencies"]
    vulnerable = [d for d in deps if d.get("vulns")]
    if vulnerable:
        lines = [f"{d['name']} {d['version']}: " + ", ".join(
            f"{v['id']} (fixed in {', '.join(v.get('fix_versions') or ['-'])})" for v in d["vulns"])
            for d in vulnerable]
        return "vulnerable", "\n".join(lines)
    skipped = [d for d in deps if d.get("skip_reason")]
    if deps and len(skipped) == len(deps):
        return "unreachable", f"the service answered for none of the {len(deps)} packages " \
                              f"({skipped[0]['skip_reason']})"
    note = f"; {len(skipped)} not audited: {', '.join(d['name'] for d in skipped)}" if skipped \
        else ""
    return "ok", f"{len(deps) - len(skipped)} packages audited, no known vulnerabilities{note}"


def main() -> int:
    failed = False
    for lock in LOCKS:
        outcome, details = audit(lock)
        if outcome == "vulnerable":
            print(f"pip-audit {lock}: KNOWN VULNERABILITIES\n{details}")
            failed = True
        elif outcome == "unreachable":
            print(f"pip-audit {lock}: SKIPPED - the vulnerability service cannot be reached "
                  f"from this machine, nothing was audited: {details}")
            failed = failed or os.environ.get("AUDIT_STRICT") == "1"
        else:
            print(f"pip-audit {lock}: {details}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
