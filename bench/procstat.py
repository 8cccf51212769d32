"""CPU and memory of processes read from /proc (Linux), so the bench needs no psutil."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn master -> workers)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) comes after the parenthesised command name, which may hold spaces.
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process and of its reaped children (RQ's per-job work horses), in
    seconds (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return sum(int(f) for f in fields[11:15]) / CLK_TCK


def comm(pid: int) -> str:
    """The process's name ("" if it is gone)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS a.k.a. VmHWM) in KiB."""
    rss = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    vals = [int(v) for v in first]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    total = sum(vals[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def machine_info() -> dict:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "somaxconn": _read_int("/proc/sys/net/core/somaxconn"),
    }


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


class CpuMeter:
    """CPU seconds used by named groups of processes between ``start()`` and ``stop()``.

    Groups are callables returning the current pids, re-read at stop so processes born during the
    window (a new pool connection's backend, a respawned worker) are counted from zero.
    """

    def __init__(self, groups: dict[str, callable]):
        self.groups = groups
        self.before: dict[str, dict[int, float]] = {}
        self.result: dict[str, float] = {}

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.m0 = machine_cpu_seconds()
        self.before = {
            name: {pid: cpu_seconds(pid) for pid in pids()} for name, pids in self.groups.items()
        }

    def stop(self) -> dict:
        wall = time.perf_counter() - self.t0
        m1 = machine_cpu_seconds()
        out = {}
        for name, pids in self.groups.items():
            start = self.before.get(name, {})
            used = 0.0
            for pid in set(pids()) | set(start):
                now = cpu_seconds(pid)
                if now:  # a process gone by now is not counted (rare; pools keep theirs)
                    used += max(0.0, now - start.get(pid, 0.0))
            out[name] = {"cpu_s": round(used, 2), "cores": round(used / wall, 2) if wall else 0}
        busy = m1[0] - self.m0[0]
        out["machine"] = {
            "cpu_s": round(busy, 2),
            "cores": round(busy / wall, 2) if wall else 0,
            "util_pct": round(100 * busy / (m1[1] - self.m0[1]), 1) if m1[1] > self.m0[1] else 0,
        }
        out["wall_s"] = round(wall, 3)
        self.result = out
        return out


class RssSampler(threading.Thread):
    """Samples the summed RSS of a process group every ``interval`` s; keeps the peak."""

    def __init__(self, pids: callable, interval: float = 0.2):
        super().__init__(daemon=True)
        # Looked up once: finding a process's children scans all of /proc, and doing that ten
        # times a second took 3 % of the CPU the measured burst runs on. The workers do not
        # change during a burst. (Not VmHWM: that is the process's peak since it started, and the
        # set-up's argon2 hashing peaks far above any burst.)
        self.pids = pids()
        self.interval = interval
        self.peak_total_kib = 0
        self.peak_each_kib: dict[int, int] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            total = 0
            for pid in self.pids:
                rss = rss_kib(pid)[0]
                total += rss
                self.peak_each_kib[pid] = max(self.peak_each_kib.get(pid, 0), rss)
            self.peak_total_kib = max(self.peak_total_kib, total)
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join(timeout=2)
        return self.peak_total_kib
