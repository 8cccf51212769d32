"""`make bench-load`: mixed traffic of 200 parents with Locust, per endpoint and page (issue 21).

    .venv/bin/python bench/load.py [--users 200] [--seconds 180] [--spawn-rate 20]

Needs Locust (requirements-bench.txt). Starts the production process model as ``make bench`` does
(a fresh BENCH_DB, gunicorn -c gunicorn.conf.py, worker.py), sets up a city with
``--events`` published events (10 slots x 2000 seats each, so seats do not run out) and
``--users`` parents through the API and in bulk (bench/setup.py), then runs
``bench/locustfile.py`` headless: every parent signs in once, then browses, checks eligibility,
books, pays in the sandbox and opens its account and ticket, with 1-3 s between steps. The
statistics are reset once every user runs (``--reset-stats``), so ramp-up is not counted.
Prints p50/p95/p99 and the error rate per endpoint and page against the targets (reads p95 <
300 ms, writes p95 < 500 ms, 0 errors), and the CPU the server and Locust used.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import stack  # noqa: E402

os.environ.update(stack.bench_env())

import procstat  # noqa: E402
import setup as bench_setup  # noqa: E402
from run import PAY_KEY_SECRET, event_page_path, log, server_groups  # noqa: E402

READ_P95_MS = 300
WRITE_P95_MS = 500


def setup(web: stack.Web, users: int, events: int) -> dict:
    base = web.url("")
    catalog = bench_setup.setup_catalog(base)
    out = []
    for i in range(events):
        ev = bench_setup.create_event(base, catalog, f"Load Event {i}", capacity=2000)
        out.append({"id": ev["event_id"], "slot_ids": ev["slot_ids"],
                    "page": event_page_path(web, ev["event_id"])})
    parents = bench_setup.bulk_parents(users)
    import psycopg2

    with psycopg2.connect(stack.db_url()) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, email FROM users WHERE id = ANY(%s)",
                    ([p["user_id"] for p in parents],))
        emails = dict(cur.fetchall())
    return {
        "city_id": catalog["city_id"], "events": out, "password": bench_setup.PARENT_PASSWORD,
        "key_secret": PAY_KEY_SECRET,
        "parents": [{"email": emails[p["user_id"]], "child_id": p["child_id"]} for p in parents],
    }


def is_write(name: str) -> bool:
    return name.split(" ", 1)[0] in ("POST", "PUT", "PATCH", "DELETE")


def report(stats_csv: Path) -> tuple[list[dict], bool]:
    rows = []
    ok = True
    with stats_csv.open() as fh:
        for row in csv.DictReader(fh):
            if row["Name"] == "Aggregated" or row["Type"] == "outcome":
                if row["Type"] == "outcome":
                    rows.append({"name": row["Name"], "kind": "outcome",
                                 "count": int(row["Request Count"])})
                continue
            count, failures = int(row["Request Count"]), int(row["Failure Count"])
            p95 = float(row["95%"]) if row["95%"] not in ("N/A", "") else None
            kind = "write" if is_write(row["Name"]) else "read"
            limit = WRITE_P95_MS if kind == "write" else READ_P95_MS
            met = failures == 0 and p95 is not None and p95 < limit
            ok = ok and met
            rows.append({
                "name": row["Name"], "kind": kind, "count": count, "failures": failures,
                "error_pct": round(100 * failures / count, 2) if count else 0.0,
                "rps": round(float(row["Requests/s"]), 2), "p50_ms": row["50%"], "p95_ms": row["95%"],
                "p99_ms": row["99%"], "max_ms": round(float(row["Max Response Time"])), "target_p95_ms": limit, "met": met,
            })
    return rows, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--seconds", type=int, default=180, help="measured, after the ramp-up")
    parser.add_argument("--events", type=int, default=12)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    log(f"machine: {procstat.machine_info()}")
    log(f"fresh database {stack.BENCH_DB}, redis db {stack.BENCH_REDIS_DB}; migrating")
    stack.recreate_database()
    stack.flush_redis()
    stack.run_flask("db", "upgrade")
    worker = stack.RqWorker().start()
    web = stack.Web(label="web-load").start()
    data = setup(web, args.users, args.events)
    log(f"set up: {len(data['events'])} events, {len(data['parents'])} parents; "
        f"gunicorn on :{web.port}")

    out_dir = stack.LOG_DIR / f"load-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    data_path = out_dir / "data.json"
    data_path.write_text(json.dumps(data))
    ramp = args.users / args.spawn_rate
    cmd = [str(stack.BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless",
           "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{int(ramp + args.seconds)}s",
           "--host", web.url(""), "--csv", str(out_dir / "locust"), "--reset-stats",
           "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"]
    meter = procstat.CpuMeter(server_groups(web, worker))
    env = {**os.environ, "LOAD_DATA": str(data_path)}
    log(f"locust: {args.users} users, spawn rate {args.spawn_rate}/s, {args.seconds} s measured")
    meter.start()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True,
                          timeout=ramp + args.seconds + 300)
    wall = time.perf_counter() - t0
    cpu = meter.stop()
    (out_dir / "locust.out").write_text(proc.stdout + proc.stderr)
    # urllib3's warning for each GET sent again after its kept-alive connection dropped.
    resent = (proc.stdout + proc.stderr).count("Retrying (")
    rows, ok = report(out_dir / "locust_stats.csv")
    print("\n| endpoint / page | kind | requests | req/s | errors | p50 ms | p95 ms | p99 ms "
          "| max ms | p95 target |\n|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["kind"] == "outcome":
            print(f"| {r['name']} | outcome | {r['count']} | | | | | | | |")
            continue
        print(f"| {r['name']} | {r['kind']} | {r['count']} | {r['rps']} | {r['failures']} "
              f"({r['error_pct']} %) | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} "
              f"| {r['max_ms']} | < {r['target_p95_ms']} {'met' if r['met'] else 'MISSED'} |")
    total = sum(r.get("count", 0) for r in rows if r["kind"] != "outcome")
    errors = sum(r.get("failures", 0) for r in rows if r["kind"] != "outcome")
    server = sum(cpu[g]["cpu_s"] for g in ("web", "rq_worker", "postgres", "redis"))
    log(f"{total} requests in {wall:.0f} s (ramp-up {ramp:.0f} s not counted), {errors} errors, "
        f"{resent} GETs sent again after a dropped kept-alive connection; "
        f"CPU s: web {cpu['web']['cpu_s']}, worker {cpu['rq_worker']['cpu_s']}, postgres "
        f"{cpu['postgres']['cpu_s']}, redis {cpu['redis']['cpu_s']} (server {server:.1f}), "
        f"machine {cpu['machine']['cpu_s']} ({cpu['machine']['util_pct']} % of all cores)")
    failures = out_dir / "locust_failures.csv"
    if errors and failures.exists():
        log("failures:\n" + failures.read_text()[:2000])
    log(f"targets (reads p95 < {READ_P95_MS} ms, writes p95 < {WRITE_P95_MS} ms, 0 errors): "
        f"{'met' if ok else 'NOT met'}; files in {out_dir}")
    result = {"args": vars(args), "rows": rows, "cpu": cpu, "wall_s": wall, "ok": ok,
              "gets_resent": resent}
    Path(args.json or out_dir / "results.json").write_text(json.dumps(result, indent=2))
    stack.stop_all()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
