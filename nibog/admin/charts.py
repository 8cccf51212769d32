"""Bar charts drawn on the server as SVG geometry (no chart library, no script).

A chart is a title, rows of (label, value, shown value) and the rectangles the template draws;
the template prints the same rows as a table, so every chart has its numbers written out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# viewBox units; the SVG scales to its card (about 330 px on a tablet, 450 on a laptop), so
# these stay small enough for 13-unit text to read.
WIDTH = 480
COLUMN_HEIGHT = 160
ROW_HEIGHT = 28
LABEL_WIDTH = 170
TOP = 14
BOTTOM = 30


@dataclass
class Bar:
    label: str
    value: int
    shown: str
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0


@dataclass
class Chart:
    key: str
    title: str
    kind: str  # "columns" (vertical) or "rows" (horizontal)
    value_title: str
    bars: list[Bar] = field(default_factory=list)
    width: int = WIDTH
    height: int = 0
    ticks: list[tuple[float, str]] = field(default_factory=list)
    label_every: int = 1

    @property
    def empty(self) -> bool:
        return not any(b.value for b in self.bars)


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return 10 * magnitude


def columns(key: str, title: str, value_title: str, rows: Sequence[tuple[str, int]],
            fmt: Callable[[int], str] = str) -> Chart:
    """Vertical bars, one per row (days, age groups). Negative values (a day of refunds) are
    drawn as zero-height bars; the table shows the figure."""
    chart = Chart(key, title, "columns", value_title, height=COLUMN_HEIGHT + TOP + BOTTOM)
    top = _nice_max(max((v for _, v in rows), default=0))
    left = 60
    plot_w = WIDTH - left - 8
    slot = plot_w / max(len(rows), 1)
    for i, (label, value) in enumerate(rows):
        h = COLUMN_HEIGHT * max(value, 0) / top
        chart.bars.append(Bar(label, value, fmt(value), x=left + i * slot + slot * 0.15,
                              y=TOP + COLUMN_HEIGHT - h, w=slot * 0.7, h=h))
    ticks: dict[str, float] = {}
    for f in (0, 0.5, 1):
        # A count axis up to 1 would label its middle "0" again: one label per value.
        ticks.setdefault(fmt(int(top * f)), TOP + COLUMN_HEIGHT * (1 - f))
    chart.ticks = [(y, text) for text, y in ticks.items()]
    chart.label_every = max(1, -(-len(rows) // 7))  # at most ~7 labels under the axis
    return chart


def rows(key: str, title: str, value_title: str, data: Sequence[tuple[str, int]],
         fmt: Callable[[int], str] = str) -> Chart:
    """Horizontal bars, one per row (cities, events, games), labelled on the left."""
    chart = Chart(key, title, "rows", value_title, height=TOP + ROW_HEIGHT * max(len(data), 1))
    top = _nice_max(max((v for _, v in data), default=0))
    plot_w = WIDTH - LABEL_WIDTH - 80
    for i, (label, value) in enumerate(data):
        chart.bars.append(Bar(label, value, fmt(value), x=LABEL_WIDTH,
                              y=TOP / 2 + i * ROW_HEIGHT + 3, w=plot_w * max(value, 0) / top,
                              h=ROW_HEIGHT - 8))
    return chart
