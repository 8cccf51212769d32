"""The worker holds back while the CPUs are oversubscribed, within a bound (core.cpu_pacing)."""

from __future__ import annotations

import itertools

from rq import Queue
from rq.job import JobStatus

from nibog.core.cpu_pacing import STEP_SECONDS, CpuPressure, Pacer, read_stalled_us
from nibog.extensions import get_redis

PSI = "some avg10=12.50 avg60=3.10 avg300=0.80 total={some}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 100.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def pacer(shares, backlog=lambda: 0, max_wait=2.0):
    """A pacer whose pressure readings are ``shares``, then the last of them for ever."""
    t = FakeTime()
    readings = itertools.chain(shares, itertools.repeat(shares[-1]))
    return Pacer(lambda: next(readings), backlog, threshold=0.5, max_wait=max_wait,
                 sleep=t.sleep, clock=t.clock), t


def test_the_stalled_total_is_read_from_the_some_line(tmp_path):
    psi = tmp_path / "cpu.pressure"
    psi.write_text(PSI.format(some=123456))
    assert read_stalled_us(str(psi)) == 123456
    assert read_stalled_us(str(tmp_path / "missing")) is None
    psi.write_text("garbage\n")
    assert read_stalled_us(str(psi)) is None


def test_the_share_covers_the_time_since_the_last_reading_of_at_least_a_step(tmp_path):
    psi = tmp_path / "cpu.pressure"
    psi.write_text(PSI.format(some=1_000_000))
    t = FakeTime()
    pressure = CpuPressure(str(psi), clock=t.clock)
    t.now += 1.0
    psi.write_text(PSI.format(some=1_600_000))  # 0.6 s stalled in 1 s
    assert pressure.stalled_share() == 0.6
    # Jobs milliseconds apart: too short a stretch to say anything new.
    t.now += 0.01
    psi.write_text(PSI.format(some=1_610_000))
    assert pressure.stalled_share() == 0.6
    t.now += STEP_SECONDS
    psi.write_text(PSI.format(some=1_610_000 + 10_000))
    assert round(pressure.stalled_share(), 3) == round(0.02 / (STEP_SECONDS + 0.01), 3)


def test_a_calm_machine_gets_its_jobs_at_once():
    p, t = pacer([0.1, 0.0])
    assert p.before_job() == 0.0
    assert p.before_job() == 0.0
    assert t.slept == []


def test_a_busy_machine_waits_until_the_pressure_falls():
    p, t = pacer([0.95, 0.9, 0.8, 0.3])
    assert p.before_job() == 3 * STEP_SECONDS
    assert t.slept == [STEP_SECONDS] * 3


def test_under_sustained_load_jobs_wait_at_most_the_bound_then_the_backlog_is_worked():
    backlog = [3]
    p, t = pacer([1.0], backlog=lambda: backlog[0], max_wait=2.0)
    assert p.before_job() == 2.0
    # The bound is spent: every job still queued runs without waiting...
    assert p.before_job() == 0.0
    assert p.before_job() == 0.0
    # ...until the queues are empty; then the next job waits again (still within the bound).
    backlog[0] = 0
    assert p.before_job() == 2.0
    assert len(t.slept) == 2 * int(2.0 / STEP_SECONDS)


def test_without_pressure_information_the_worker_never_waits():
    p, t = pacer([None])
    assert p.before_job() == 0.0 and t.slept == []


def test_the_worker_asks_the_pacer_before_taking_a_job(app):
    import worker

    conn = get_redis()
    queue = Queue("default", connection=conn)
    job = queue.enqueue("nibog.core.housekeeping.purge_expired")
    p, t = pacer([0.9, 0.9, 0.1])
    rq_worker = worker._worker_class()([queue], connection=conn)
    rq_worker.pacer = p
    rq_worker.work(burst=True)
    assert t.slept == [STEP_SECONDS, STEP_SECONDS]
    assert job.get_status(refresh=True) == JobStatus.FINISHED
