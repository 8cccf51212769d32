"""Reading /metrics the way Prometheus does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def scrape(client, **kw) -> str:
    resp = client.get("/metrics", **kw)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_data(as_text=True)


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample (0 when the series does not exist yet)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def series(text: str, name: str) -> list[dict]:
    return [
        s.labels
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


class Delta:
    """``with Delta(client, name, **labels) as d: ...`` then ``d.value``: how much a counter moved.

    Counters live for the whole test process, so tests compare before and after.
    """

    def __init__(self, client, name: str, **labels):
        self.client, self.name, self.labels = client, name, labels

    def __enter__(self):
        self.before = sample(scrape(self.client), self.name, **self.labels)
        return self

    def __exit__(self, *exc):
        self.value = sample(scrape(self.client), self.name, **self.labels) - self.before
        return False
