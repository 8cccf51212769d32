"""The job worker holds back while the machine's CPUs are oversubscribed.

On a small single-host deployment the RQ worker shares the cores with the web processes. In a
sales burst every held seat queues an e-mail; the worker's lower priority (``worker.py``) still
leaves it a share of the cores, and in eight paired bursts on two cores the worker holding
back as below made the burst 5-38 % faster (docs/performance.md). The parents waiting for an
answer matter more than an e-mail a few seconds earlier, so before taking the next job the
worker looks at Linux's pressure stall
information (PSI): the share of recent time in which some runnable task waited for a CPU. While
that is high it waits, up to a bound; once the bound is spent it works its whole backlog
without waiting, so under sustained load jobs run late by at most the bound, never pile up.

Where the kernel has no PSI (not Linux, or switched off) the worker never waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# The worker's own cgroup first (a container's share), then the whole machine.
PSI_FILES = ("/sys/fs/cgroup/cpu.pressure", "/proc/pressure/cpu")
# How often a waiting worker looks again, and the shortest stretch a reading covers: 0.1 s
# readings swung with every scheduling hiccup and the burst gained nothing; 0.5 s gained in
# eight paired runs of eight (docs/performance.md).
STEP_SECONDS = 0.5


def read_stalled_us(path: str) -> int | None:
    """The "some" line's ``total=`` (microseconds some task waited for a CPU), or None."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("some "):
            for field in line.split()[1:]:
                key, _, value = field.partition("=")
                if key == "total" and value.isdigit():
                    return int(value)
    return None


def find_psi_file() -> str | None:
    return next((p for p in PSI_FILES if read_stalled_us(p) is not None), None)


class CpuPressure:
    """The stalled share of the time since the previous reading (0.0-1.0; None: unknown)."""

    def __init__(self, path: str, clock: Callable[[], float] = time.monotonic,
                 min_window: float = STEP_SECONDS) -> None:
        self.path = path
        self.clock = clock
        self.min_window = min_window
        self._last = (clock(), read_stalled_us(path))
        self._share: float | None = None

    def stalled_share(self) -> float | None:
        """Over the time since the last reading; a stretch shorter than ``min_window`` (jobs
        a few milliseconds apart) says little, so the previous share stands until it is over."""
        now = self.clock()
        then, before = self._last
        if now - then < self.min_window:
            return self._share
        total = read_stalled_us(self.path)
        self._last = (now, total)
        if total is None or before is None:
            self._share = None
        else:
            self._share = min(1.0, max(0.0, (total - before) / 1e6 / (now - then)))
        return self._share


class Pacer:
    """Decides, before each job, how long the worker waits (``before_job``)."""

    def __init__(
        self,
        pressure: Callable[[], float | None],
        backlog: Callable[[], int],
        *,
        threshold: float,
        max_wait: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pressure = pressure
        self.backlog = backlog
        self.threshold = threshold
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock
        # After a wait ran out: work without waiting until the queues are empty.
        self.catching_up = False

    def before_job(self) -> float:
        """Wait while the CPUs are oversubscribed (bounded); returns the seconds waited."""
        if self.catching_up:
            if self.backlog() > 0:
                return 0.0
            self.catching_up = False
        share = self.pressure()
        if share is None or share < self.threshold:
            return 0.0
        start = self.clock()
        while True:
            self.sleep(STEP_SECONDS)
            waited = self.clock() - start
            share = self.pressure()
            if share is None or share < self.threshold:
                return waited
            if waited >= self.max_wait:
                log.info("CPU still busy after %.1f s: working the backlog", waited)
                self.catching_up = True
                return waited


def pacer_for_worker(queues, *, threshold: float, max_wait: float) -> Pacer | None:
    """A pacer reading this machine's PSI, or None where there is none (or pacing is off)."""
    if threshold <= 0 or max_wait <= 0:
        return None
    path = find_psi_file()
    if path is None:
        log.info("no CPU pressure information: the worker does not hold back for the web")
        return None
    return Pacer(CpuPressure(path).stalled_share, lambda: sum(q.count for q in queues),
                 threshold=threshold, max_wait=max_wait)
