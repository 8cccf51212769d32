"""docs/monitoring: the alert rules and the Grafana dashboard are valid, and every metric they
name is one the app really exposes at /metrics (a renamed metric must not silence an alert)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.support import scrape

DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
RULES = DOCS / "alerts.yml"
DASHBOARD = DOCS / "grafana-dashboard.json"
# Our metrics all start with nibog_; `up` is Prometheus's own, per scrape target.
OURS = re.compile(r"\bnibog_[a-z0-9_]+")
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def _rules() -> list[dict]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _dashboard_exprs() -> list[str]:
    return [t["expr"] for p in _dashboard()["panels"] for t in p.get("targets", ())]


def _exposed(client) -> set[str]:
    """Every series name /metrics can answer: sample names, and each family's name with the
    suffixes Prometheus derives (a labelled family with no child yet has no samples)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(scrape(client)):
        names.add(family.name)
        names.update(family.name + s for s in SUFFIXES)
        names.update(s.name for s in family.samples)
    return names


def test_alert_rules_are_well_formed():
    rules = _rules()
    assert len(rules) >= 10
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["expr"].strip(), rule["alert"]
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        runbook = rule["annotations"].get("runbook")
        if runbook:
            path, _, anchor = runbook.partition("#")
            doc = (DOCS.parents[1] / path).read_text()
            headings = {
                re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
                for line in doc.splitlines() if line.startswith("#")
            }
            assert anchor in headings, f"{rule['alert']}: no heading #{anchor} in {path}"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed "
                    "(Debian package prometheus); the YAML checks above still ran")
def test_promtool_accepts_the_rules():
    out = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in out.stdout


def test_dashboard_is_an_importable_grafana_dashboard():
    board = _dashboard()
    assert board["title"] and board["uid"] and isinstance(board["schemaVersion"], int)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in board["panels"]:
        assert panel["title"] and panel["type"], panel
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys(), panel["title"]
        assert 0 <= panel["gridPos"]["x"] and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        refs = [t["refId"] for t in panel.get("targets", ())]
        assert refs and len(refs) == len(set(refs)), panel["title"]
    # The data source is chosen at import: the panels point at the dashboard's variable.
    variables = {v["name"] for v in board.get("templating", {}).get("list", ())}
    for panel in board["panels"]:
        uid = (panel.get("datasource") or {}).get("uid", "")
        if uid.startswith("$"):
            assert uid.strip("${}") in variables, panel["title"]


def test_every_metric_the_rules_and_dashboard_name_is_exposed(client):
    named = {m for text in [r["expr"] for r in _rules()] + _dashboard_exprs()
             for m in OURS.findall(text)}
    assert len(named) >= 15
    missing = sorted(named - _exposed(client))
    assert not missing, f"named in docs/monitoring but not at /metrics: {missing}"


def test_the_check_catches_a_misspelt_metric(client):
    # The comparison above must be able to fail: a name that is not exposed is reported.
    assert "nibog_outbox_lag_seconds" in _exposed(client)
    assert "nibog_outbox_lag_secs" not in _exposed(client)
