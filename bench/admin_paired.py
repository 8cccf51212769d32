"""The overview page timed in two checkouts' code, request by request, on one database: on a
shared host the load changes by the second, so each old request has a new one beside it.

    ADMIN_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/nibog_admin_bench_me \\
        python bench/admin_paired.py --old /work/main --runs 25

The database is prepared by this checkout (bench/admin_bench.py: its migration head, 100k
bookings); each checkout's app runs in a process of its own (``--serve``), fed one request at a
time, in alternating order. The old checkout's code must run on this schema (extra tables are
fine). Rows:

- 30 / 90 days: the page as usually seen (old: the all-time charts from its one-minute cache;
  new: from the snapshot, kept fresh here as the worker would);
- all-time recomputed: the view in the minute the all-time figures are recomputed (old: by the
  view itself, a cache miss; new: by the worker, so the view is an ordinary one);
- no worker: the new view when the snapshot is missing or stale (it computes the figures itself,
  as the old view did on a cache miss);
- job: the new worker's refresh, which no page waits for.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]


def serve(code: Path, url: str, admin_id: str) -> None:
    """Answer {"path", "ttl"} lines with one timed GET each; {"refresh": 1} runs the worker's
    job (new code only)."""
    sys.path.insert(0, str(HERE.parent))
    import admin_bench  # noqa: E402  (the bench helpers; nibog is imported below, from ``code``)

    sys.path.insert(0, str(code))
    app = admin_bench.make_app(url)
    assert Path(sys.modules["nibog"].__file__).is_relative_to(code), "wrong checkout imported"
    with app.app_context():
        from nibog.extensions import db

        admin_bench.watch_sql(db.engine)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = admin_id
        sess["_fresh"] = True
    for line in sys.stdin:
        ask = json.loads(line)
        if ask.get("refresh"):
            try:
                with app.app_context():
                    ms = admin_bench.refresh_snapshot()
            except ImportError:
                ms = None
            print(json.dumps({"ms": ms}), flush=True)
            continue
        app.config["ADMIN_STATS_CACHE_SECONDS"] = ask["ttl"]
        admin_bench.SQL_MS.clear()
        started = time.perf_counter()
        status = client.get(ask["path"]).status_code
        ms = (time.perf_counter() - started) * 1000
        print(json.dumps({"ms": ms, "sql": sum(admin_bench.SQL_MS), "status": status}),
              flush=True)


class Server:
    def __init__(self, code: Path, url: str, admin_id: str):
        env = {**os.environ, "ACCESS_LOG": "false", "NIBOG_ENV": "development"}
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE), "--serve", str(code), "--admin-id", admin_id,
             "--url", url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, **what) -> dict:
        self.proc.stdin.write(json.dumps(what) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"server exited ({self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, help="the other checkout (e.g. /work/main)")
    parser.add_argument("--runs", type=int, default=25, help="pairs per row")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--admin-id", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("NIBOG_ENV", "development")
    if args.serve:  # before anything imports nibog: it must come from that checkout
        serve(args.serve.resolve(), args.url, args.admin_id)
        return 0
    sys.path.insert(0, str(HERE.parent))
    import admin_bench

    from nibog.config import normalise_database_url

    url = normalise_database_url(
        os.environ.get("ADMIN_BENCH_DATABASE_URL", admin_bench.DEFAULT_URL))
    if not args.old:
        parser.error("--old is required")
    _, admin_id, _, counts, _ = admin_bench.prepare(url, args.rows)
    print("rows: " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
    old, new = Server(args.old.resolve(), url, admin_id), Server(ROOT, url, admin_id)
    # (label, old request, new request)
    rows = [
        ("30 days", {"path": "/admin/", "ttl": 60}, {"path": "/admin/", "ttl": 60}),
        ("90 days", {"path": "/admin/?days=90", "ttl": 60},
         {"path": "/admin/?days=90", "ttl": 60}),
        ("all-time recomputed", {"path": "/admin/?all", "ttl": 0},
         {"path": "/admin/?all", "ttl": 60}),
        ("no worker (new: view computes)", {"path": "/admin/?nw", "ttl": 0},
         {"path": "/admin/?nw", "ttl": 0}),
    ]
    times = {(label, side): [] for label, *_ in rows for side in ("old", "new")}
    sql = {key: [] for key in times}
    jobs, loads = [], []
    try:
        new.ask(refresh=1)
        last_refresh = time.monotonic()
        for _, o, n in rows:  # warm: connections, templates, plans, the old cache
            for _ in range(2):
                old.ask(**o), new.ask(**n)
        for run in range(args.runs):
            if time.monotonic() - last_refresh > 20:  # the worker's 30 s, with a margin
                jobs.append(new.ask(refresh=1)["ms"])
                last_refresh = time.monotonic()
            loads.append(os.getloadavg()[0])
            for label, o, n in rows:
                order = [("old", old, o), ("new", new, n)]
                for side, server, req in order if run % 2 == 0 else order[::-1]:
                    answer = server.ask(**req)
                    if answer["status"] != 200:
                        raise SystemExit(f"{label} ({side}): HTTP {answer['status']}")
                    times[(label, side)].append(answer["ms"])
                    sql[(label, side)].append(answer["sql"])
        jobs.append(new.ask(refresh=1)["ms"])
    finally:
        old.close()
        new.close()
    print(f"\n{args.runs} pairs per row, old/new alternated; load average (1 min) during the "
          f"run: min {min(loads):.1f}, median {statistics.median(loads):.1f}, max "
          f"{max(loads):.1f} on {os.cpu_count()} CPUs")
    print(f"{'ms':<32} {'old median':>10} {'p95':>7} {'sql':>7}   {'new median':>10} {'p95':>7} "
          f"{'sql':>7}")
    for label, *_ in rows:
        o, n = times[(label, "old")], times[(label, "new")]
        print(f"{label:<32} {statistics.median(o):10.1f} {p95(o):7.1f} "
              f"{statistics.median(sql[(label, 'old')]):7.1f}   {statistics.median(n):10.1f} "
              f"{p95(n):7.1f} {statistics.median(sql[(label, 'new')]):7.1f}")
    print(f"{'job: refresh (new, worker)':<32} {'':>10} {'':>7} {'':>7}   "
          f"{statistics.median(jobs):10.1f} {max(jobs):7.1f}  (median, max of {len(jobs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
