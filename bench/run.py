"""`make bench`: the 5000-concurrent-booking benchmark (issue 8), end to end, in one command.

    .venv/bin/python bench/run.py [--attempts 5000] [--levers] [--json FILE]

1. A fresh `nibog_bench` database (flask db upgrade) and Redis db 1 (BENCH_DB / BENCH_REDIS_DB).
2. The production process model: gunicorn -c gunicorn.conf.py wsgi:app + python worker.py.
3. Set-up through the public API (bench/setup.py says what goes in bulk, and why).
4. The burst: one connection per attempt, all opened first, then every booking request written at
   once, each for a random one of the event's 10 slots x 50 seats. Checked against the database.
5. Reference points in the same run: /healthz throughput with the same generator, /healthz and a
   signed-in GET /api/users/me in the burst's shape, pgbench running the booking transaction's
   SQL (bench/pgbench_booking.sql), and the read benchmark.
6. With --levers: the same burst (on a fresh event each time) under each gunicorn/pool setting.

Every process it starts is stopped on exit. Results: printed, and saved as JSON under
instance/bench/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import stack  # noqa: E402

# The app's settings are read from the environment at import: export the bench's before anything
# imports nibog (token minting in setup.py does).
os.environ.update(stack.bench_env())

import procstat  # noqa: E402
import setup as bench_setup  # noqa: E402

TRIVIAL = "healthz"

def _gthread(workers: int, threads: int) -> dict:
    return {"GUNICORN_WORKER_CLASS": "gthread", "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads)}


def _pool(size: int) -> dict:
    # Fewer connections than threads: the other threads wait for one inside the app.
    return {**_gthread(2, 8), "DB_POOL_SIZE": str(size), "DB_MAX_OVERFLOW": "0"}


def _gevent(workers: int, pool: int, connections: int = 1000) -> dict:
    # Hundreds of greenlets per worker share a few Redis connections (REDIS_MAX_CONNECTIONS,
    # a blocking pool) and the SQLAlchemy pool, which bounds how many talk to PostgreSQL at once.
    return {"GUNICORN_WORKER_CLASS": "gevent", "WEB_CONCURRENCY": str(workers),
            "GUNICORN_WORKER_CONNECTIONS": str(connections), "DB_POOL_SIZE": str(pool),
            "DB_MAX_OVERFLOW": "0", "REDIS_MAX_CONNECTIONS": "16"}


# Settings compared by --levers. Every one runs the same burst on a fresh event. Kept to what the
# issue lists: worker class and counts, threads, backlog, the SQLAlchemy pool.
LEVERS: list[tuple[str, dict]] = [
    ("sync w=3", {"GUNICORN_WORKER_CLASS": "sync", "WEB_CONCURRENCY": "3"}),
    ("sync w=6", {"GUNICORN_WORKER_CLASS": "sync", "WEB_CONCURRENCY": "6"}),
    ("gthread w=2 t=4", _gthread(2, 4)),
    ("gthread w=2 t=16", _gthread(2, 16)),
    ("gthread w=3 t=4", _gthread(3, 4)),
    ("gthread w=4 t=2 (the default, again)", _gthread(4, 2)),
    ("gthread w=3 t=2", _gthread(3, 2)),
    ("gthread w=4 t=1", _gthread(4, 1)),
    ("gthread w=6 t=1", _gthread(6, 1)),
    ("gthread w=3 t=4 no pre-ping", {**_gthread(3, 4), "DB_POOL_PRE_PING": "false"}),
    ("gthread w=4 t=2", _gthread(4, 2)),
    ("gthread w=3 t=4 switch=1ms", {**_gthread(3, 4), "PY_SWITCH_INTERVAL": "0.001"}),
    ("gthread w=3 t=4 switch=20ms", {**_gthread(3, 4), "PY_SWITCH_INTERVAL": "0.02"}),
    # gthread counts kept-alive connections against worker_connections and stops accepting at
    # the limit: with 4 x 1000 and 5000 connections, the last 1000 wait in the accept queue until
    # answered ones expire (keepalive seconds).
    ("gthread w=4 t=2 conns=2000", {**_gthread(4, 2), "GUNICORN_WORKER_CONNECTIONS": "2000"}),
    ("gthread w=4 t=2 keepalive=0", {**_gthread(4, 2), "GUNICORN_KEEPALIVE": "0"}),
    ("gthread w=4 t=2 keepalive=1", {**_gthread(4, 2), "GUNICORN_KEEPALIVE": "1"}),
    ("gthread w=4 t=2 conns=2000 keepalive=0",
     {**_gthread(4, 2), "GUNICORN_WORKER_CONNECTIONS": "2000", "GUNICORN_KEEPALIVE": "0"}),
    ("gthread w=4 t=2 python parser", {**_gthread(4, 2), "GUNICORN_HTTP_PARSER": "python"}),
    ("gthread w=2 t=8 backlog=1024", {**_gthread(2, 8), "GUNICORN_BACKLOG": "1024"}),
    ("gthread w=2 t=8 pool=2", _pool(2)),
    ("gthread w=2 t=8 pool=3", _pool(3)),
    ("gthread w=2 t=8 pool=4", _pool(4)),
    ("gevent w=2 pool=8", _gevent(2, 8)),
    ("gevent w=2 pool=20", _gevent(2, 20)),
    ("gevent w=3 pool=8", _gevent(3, 8)),
    ("gevent w=4 pool=6", _gevent(4, 6)),
    ("gevent w=4 pool=6 conns=2500", _gevent(4, 6, 2500)),
    # The default once more at the end: shows how much the machine drifted during the matrix.
    ("gthread w=2 t=8 again", _gthread(2, 8)),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- the burst ---------------------------------------------------------------------------------
def queued_jobs() -> int:
    import redis

    from nibog.core.jobs import QUEUES

    conn = redis.Redis.from_url(stack.redis_url())
    return sum(conn.llen(f"rq:queue:{name}") for name in QUEUES) + pending_outbox_rows()


def pending_outbox_rows() -> int:
    """Jobs committed but not yet relayed to RQ (JOBS_HANDOFF=relay leaves them to the worker)."""
    import psycopg2

    with psycopg2.connect(stack.db_url()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM job_outbox WHERE relayed_at IS NULL")
        return cur.fetchone()[0]


def wait_for_jobs(worker: stack.RqWorker, limit: float = 180.0) -> dict:
    """Let the RQ worker finish the previous burst's jobs (its e-mails) first, so every burst
    starts from the same quiet state instead of competing with the last one's backlog.

    A worker that has exited is started again (the platform would restart it too) and the bench
    says so: worker.py quits when its Redis connection times out while the queues are idle.
    """
    restarted = False
    if not worker.pids():
        log(f"the RQ worker had exited (see {stack.LOG_DIR / 'worker.log'}); starting it again")
        worker.start()
        restarted = True
    t0 = last_progress = time.perf_counter()
    first = left = queued_jobs()
    while left and time.perf_counter() - t0 < limit:
        time.sleep(1)
        now_left = queued_jobs()
        if now_left < left:
            last_progress = time.perf_counter()
        left = now_left
        if time.perf_counter() - last_progress > 20:
            if worker.pids():
                break  # no progress for 20 s: do not hold the whole run hostage
            log("the RQ worker exited while draining; starting it again")
            worker.start()
            restarted = True
            last_progress = time.perf_counter()
    waited = round(time.perf_counter() - t0, 1)
    if first:
        log(f"waited {waited} s for the RQ worker: {first} queued jobs -> {left}")
    return {"queued_before": first, "queued_at_start": left, "waited_s": waited,
            "worker_restarted": restarted}


# The burst's shapes (issue 8's hot slots; issue 21's all-success and hold + pay):
# name -> (slots, seats per slot, how attempts pick a slot, pay after the hold)
SHAPES = {
    "hot": (bench_setup.SLOT_COUNT, bench_setup.SLOT_CAPACITY, "random", False),
    "success": (100, 50, "even", False),
    "pay": (100, 50, "even", True),
}
PAY_KEY_SECRET = "bench-sandbox-key-secret"


def run_burst(web: stack.Web, worker: stack.RqWorker, data: dict, attempts: int, seed: int,
              label: str, timeout: float = 300.0, shape: str = "hot") -> dict:
    """One burst on a fresh event (so every run starts from empty slots, whatever the engine
    caches in Redis), checked against the database afterwards.

    ``hot``: each attempt for a random one of 10 slots x 50 seats (nine in ten are refused).
    ``success``: 100 slots x 50 seats, every slot asked exactly 50 times: every attempt must
    be held. ``pay``: the same, and each hold goes on to its sandbox payment.
    """
    n_slots, capacity, pick, pay = SHAPES[shape]
    jobs = wait_for_jobs(worker)
    base = web.url("")
    event = bench_setup.create_event(base, data, f"Bench Burst Event {label} {seed}",
                                     slot_count=n_slots, capacity=capacity)
    rng = random.Random(seed)
    parents = data["parents"]
    if attempts > len(parents):
        raise SystemExit(f"{attempts} attempts need as many parents (have {len(parents)})")
    chosen = rng.sample(parents, attempts)
    if pick == "even":
        slot_of = [event["slot_ids"][i % len(event["slot_ids"])] for i in range(attempts)]
        rng.shuffle(slot_of)
    else:
        slot_of = [rng.choice(event["slot_ids"]) for _ in range(attempts)]
    plan = {
        "host": "127.0.0.1", "port": web.port, "timeout": timeout, "connect_parallel": 500,
        "attempts": [{"token": p["token"], "event_id": event["event_id"], "child_id": p["child_id"],
                      "slot_id": sid} for p, sid in zip(chosen, slot_of, strict=True)],
    }
    if pay:
        plan["pay"] = {"key_secret": PAY_KEY_SECRET}
    result, cpu, memory = _drive(web, worker, plan, timeout)
    result.update(
        label=label,
        shape=shape,
        rq_jobs=jobs,
        settings=web.settings,
        event_id=event["event_id"],
        db=check_database(event["event_id"], payments=pay),
        cpu=cpu,
        **memory,
    )
    db_ok = (result["db"]["seats_booked"] == result["held"] == result["db"]["live_items"]
             and result["db"]["max_over_capacity"] <= 0)
    answered = result["errors"] == 0 and result["unexpected"] == 0
    if shape == "hot":
        result["ok"] = (answered and db_ok and result["db"]["capacity"] == result["held"]
                        and result["held"] + result["slot_full"] == attempts)
    else:
        result["ok"] = answered and db_ok and result["held"] == attempts
    if pay:
        ids = result.pop("confirmed_booking_ids", [])
        d = result["db"]
        result["ok"] = (result["ok"] and result["confirmed"] == attempts == len(ids)
                        and d["confirmed"] == attempts and d["one_captured"] == attempts
                        and d["more_than_one_captured"] == 0)
    return result


def run_trivial_burst(web: stack.Web, worker: stack.RqWorker, attempts: int,
                      timeout: float = 300.0, path: str = "/healthz",
                      tokens: list[str] | None = None) -> dict:
    """The burst's shape (N connections opened first, N requests written at once) against
    ``/healthz``: what this server and machine can answer at all in this shape. With
    ``tokens`` (one per attempt) each request is signed in as its own parent: against
    ``/api/users/me`` that is the floor under any hold - token checked, revocation list asked,
    the user read - with no booking work."""
    wait_for_jobs(worker)
    plan = {"host": "127.0.0.1", "port": web.port, "timeout": timeout, "connect_parallel": 500,
            "path": path,
            "attempts": [{"token": t} for t in tokens] if tokens else [{}] * attempts}
    result, cpu, _memory = _drive(web, worker, plan, timeout)
    result["cpu"] = cpu
    result["ok"] = result["errors"] == 0 and result["ok_answers"] == attempts
    return result


def _drive(web, worker, plan: dict, timeout: float):
    """Run the generator on ``plan``: its summary, CPU per group, the web workers' memory."""
    with tempfile.TemporaryDirectory() as tmp:
        plan_path, out_path = Path(tmp, "plan.json"), Path(tmp, "out.json")
        plan_path.write_text(json.dumps(plan))
        gen = subprocess.Popen(
            [sys.executable, str(HERE / "burst.py"), str(plan_path), str(out_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE,
        )
        try:
            ready = gen.stdout.readline().split()
            if not ready or ready[0] != "READY":
                raise RuntimeError(f"generator did not get ready: {ready}")
            meter = procstat.CpuMeter(server_groups(web, worker))
            rss = procstat.RssSampler(web.worker_pids)
            rss_before = {pid: procstat.rss_kib(pid)[0] for pid in web.worker_pids()}
            rss.start()
            meter.start()
            gen.stdin.write("GO\n")
            gen.stdin.flush()
            gen.stdout.readline()  # DONE
            gen.wait(timeout + 60)
            cpu = meter.stop()
            peak_sum = rss.stop()
            result = json.loads(out_path.read_text())
        finally:
            if gen.poll() is None:
                gen.kill()
    server_cpu = sum(cpu[g]["cpu_s"] for g in ("web", "rq_worker", "postgres", "redis"))
    # Whatever else ran on the machine meanwhile (other users' jobs): makes noisy runs visible.
    cpu["other"] = {"cpu_s": round(max(0.0, cpu["machine"]["cpu_s"] - server_cpu
                                       - result["generator_cpu_s"]), 2)}
    memory = {
        "web_workers": len(rss_before),
        "web_rss_peak_sum_mib": round(peak_sum / 1024, 1),
        "web_rss_peak_per_worker_mib": round(max(rss.peak_each_kib.values(), default=0) / 1024, 1),
        "web_rss_before_per_worker_mib": round(max(rss_before.values(), default=0) / 1024, 1),
    }
    return result, cpu, memory


def server_groups(web: stack.Web, worker: stack.RqWorker) -> dict:
    return {
        "web": web.all_pids,
        "rq_worker": worker.pids,
        "postgres": stack.postgres_backend_pids,
        "redis": stack.redis_server_pids,
    }


def check_database(event_id: int, payments: bool = False) -> dict:
    import psycopg2

    with psycopg2.connect(stack.db_url()) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(s.capacity), 0), coalesce(sum(s.booked_count), 0), "
            "coalesce(max(s.booked_count - s.capacity), 0) FROM game_slots s "
            "JOIN event_games g ON g.id = s.event_game_id WHERE g.event_id = %s", (event_id,),
        )
        capacity, booked, worst = cur.fetchone()
        cur.execute(
            "SELECT count(*) FROM booking_items i JOIN bookings b ON b.id = i.booking_id "
            "WHERE b.event_id = %s AND i.is_live", (event_id,),
        )
        live_items = cur.fetchone()[0]
        out = {"capacity": int(capacity), "seats_booked": int(booked),
               "live_items": int(live_items), "max_over_capacity": int(worst)}
        if payments:
            # Every booking of the event: its status, and how many captured payments it has.
            cur.execute(
                "SELECT count(*) FILTER (WHERE b.status = 'confirmed'), "
                "count(*) FILTER (WHERE p.captured = 1), count(*) FILTER (WHERE p.captured > 1), "
                "count(*) FILTER (WHERE coalesce(p.captured, 0) = 0), count(*) "
                "FROM bookings b LEFT JOIN (SELECT booking_id, count(*) AS captured "
                "FROM payments WHERE status = 'captured' GROUP BY booking_id) p "
                "ON p.booking_id = b.id WHERE b.event_id = %s", (event_id,),
            )
            conf, one, many, none, total = cur.fetchone()
            out.update(bookings=total, confirmed=conf, one_captured=one,
                       more_than_one_captured=many, no_captured=none)
    return out


# -- reference points --------------------------------------------------------------------------
def run_read(web: stack.Web, worker: stack.RqWorker, targets: list[dict], concurrency: int,
             seconds: float) -> dict:
    out = {}
    for target in targets:
        plan = {"host": "127.0.0.1", "port": web.port, "concurrency": concurrency,
                "seconds": seconds, "warmup": 1.0, "targets": [target]}
        with tempfile.TemporaryDirectory() as tmp:
            plan_path, out_path = Path(tmp, "plan.json"), Path(tmp, "out.json")
            plan_path.write_text(json.dumps(plan))
            meter = procstat.CpuMeter(server_groups(web, worker))
            meter.start()
            subprocess.run([sys.executable, str(HERE / "read_bench.py"), str(plan_path),
                            str(out_path)], check=True, cwd=HERE, timeout=seconds + 120)
            cpu = meter.stop()
            res = json.loads(out_path.read_text())[target["name"]]
        res["cpu"] = cpu
        out[target["name"]] = res
    return out


def run_read_rounds(web: stack.Web, worker: stack.RqWorker, targets: list[dict], concurrency: int,
                    seconds: float, rounds: int) -> dict:
    """``run_read`` in ``rounds`` rounds, each target once per round, the order turned by one each
    round; a target's figures pool its windows.

    The host's speed drifts by tens of per cent within a minute here, so one window per target
    compared the targets and the drift together; interleaved windows share the drift out.
    """
    windows: dict[str, list[dict]] = {t["name"]: [] for t in targets}
    for r in range(rounds):
        turn = r % len(targets)
        for name, res in run_read(web, worker, targets[turn:] + targets[:turn], concurrency,
                                  seconds).items():
            windows[name].append(res)
    base = [w["rps"] or 1 for w in windows[targets[0]["name"]]]
    out = {}
    for name, ws in windows.items():
        pooled_s = sum(w["seconds"] for w in ws)
        out[name] = {
            "rps": round(sum(w["requests"] for w in ws) / pooled_s, 1),
            "requests": sum(w["requests"] for w in ws),
            "seconds": pooled_s,
            "rounds": len(ws),
            "round_rps": [w["rps"] for w in ws],
            "round_ratios": [round(w["rps"] / b, 3) for w, b in zip(ws, base, strict=True)],
            # The typical window's median, the worst window's tail.
            "p50_ms": sorted(w["p50_ms"] or 0 for w in ws)[len(ws) // 2],
            "p99_ms": max(w["p99_ms"] or 0 for w in ws),
            "non_2xx": sum(w["non_2xx"] for w in ws),
            "errors": sum(w["errors"] for w in ws),
            "generator_cpu_s": round(sum(w["generator_cpu_s"] for w in ws), 2),
            "cpu": {"web": {"cores": round(sum(w["cpu"]["web"]["cores"] for w in ws) / len(ws), 2)}},
        }
    return out


def find_pgbench() -> str | None:
    from shutil import which

    found = which("pgbench")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True):
        return str(candidate)
    return None


def run_pgbench(data: dict, base: str, clients: int, transactions: int,
                shape: str = "hot") -> dict:
    """The hold's SQL alone, on a fresh event: the database's ceiling.

    ``hot``: bench/pgbench_booking.sql (issue 8's transaction, 10 slots x 50, most refused).
    ``success``: bench/pgbench_success.sql, the all-success shape's hold as the app sends it
    now (100 slots x 50, every transaction takes a seat).
    """
    import psycopg2

    exe = find_pgbench()
    if exe is None:
        return {"skipped": "pgbench not found"}
    n_slots, capacity, _pick, _pay = SHAPES[shape]
    event = bench_setup.create_event(base, data, f"Bench pgbench {shape} Event {time.time_ns()}",
                                     slot_count=n_slots, capacity=capacity)
    bulk = data["parents"][data["api_parents"]:]
    # pgbench_booking.sql (hot) names its sequence itself; the success script takes it as :seq.
    seq = "bench_pgbench_seq" if shape == "hot" else f"bench_pgbench_{shape}_seq"
    with psycopg2.connect(stack.db_url()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SEQUENCE IF NOT EXISTS {seq}")
        cur.execute(f"ALTER SEQUENCE {seq} RESTART")
    per_client = max(1, transactions // clients)
    defs = {
        "slot_lo": min(event["slot_ids"]), "slot_hi": max(event["slot_ids"]),
        "child_lo": bulk[0]["child_id"], "user_lo": bulk[0]["user_id"], "nkids": len(bulk),
        "event_id": event["event_id"],
    }
    script = "pgbench_booking.sql"
    if shape != "hot":
        script = "pgbench_success.sql"
        defs.update(nslots=len(event["slot_ids"]), seq=seq)
    cmd = [exe, "-n", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-M", "prepared",
           "-c", str(clients), "-j", "2", "-t", str(per_client), "-f", str(HERE / script)]
    for k, v in defs.items():
        cmd += ["-D", f"{k}={v}"]
    cmd.append(stack.BENCH_DB)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr[-800:], "command": " ".join(cmd)}
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", proc.stdout)
    lat = re.search(r"latency average = ([\d.]+) ms", proc.stdout)
    db = check_database(event["event_id"])
    return {
        "shape": shape, "script": script,
        "clients": clients, "transactions": per_client * clients,
        "tps": float(tps.group(1)) if tps else None,
        "latency_avg_ms": float(lat.group(1)) if lat else None,
        "wall_s": round(wall, 2), "db": db,
        "command": " ".join(cmd[:1] + cmd[1:]),
    }


# -- report ------------------------------------------------------------------------------------
def fmt_burst(r: dict) -> str:
    cpu = r["cpu"]
    server_cpu = sum(cpu[g]["cpu_s"] for g in ("web", "rq_worker", "postgres", "redis"))
    lines = [
        f"burst [{r['label']}] {r['attempts']} attempts: held {r['held']} "
        f"(DB: {r['db']['seats_booked']}/{r['db']['capacity']} seats, {r['db']['live_items']} live items), "
        f"slot_full {r['slot_full']}, errors {r['errors']} {r['errors_detail']}, "
        f"unexpected {r['unexpected']} -> {'OK' if r['ok'] else 'FAILED'}",
        f"  wall {r['wall_s']} s  ->  {r['attempts_per_s']} attempts/s;  latency p50 {r['p50_ms']} ms, "
        f"p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms "
        f"(connections opened in {r['connect_s']} s, requests written in {r['send_s']} s; "
        f"last seat taken at {r.get('last_held_s')} s)",
        f"  CPU s: web {cpu['web']['cpu_s']}, rq worker {cpu['rq_worker']['cpu_s']}, "
        f"postgres {cpu['postgres']['cpu_s']}, redis {cpu['redis']['cpu_s']} (server {server_cpu:.2f}); "
        f"generator {r['generator_cpu_s']}; not the bench {cpu['other']['cpu_s']}; machine "
        f"{cpu['machine']['cpu_s']} ({cpu['machine']['util_pct']}% of all cores over {cpu['wall_s']} s)",
        f"  CPU per attempt: web {1000 * cpu['web']['cpu_s'] / r['attempts']:.2f} ms, server "
        f"{1000 * server_cpu / r['attempts']:.2f} ms, generator "
        f"{1000 * r['generator_cpu_s'] / r['attempts']:.2f} ms",
        f"  web workers: {r['web_workers']}, peak RSS during the burst {r['web_rss_peak_per_worker_mib']} "
        f"MiB/worker (was {r['web_rss_before_per_worker_mib']} before), peak sum {r['web_rss_peak_sum_mib']} MiB",
    ]
    if r.get("phase_1_answers") and r.get("last_held_s"):
        p1, t1 = r["phase_1_answers"], r["last_held_s"]
        p2, t2 = r["attempts"] - p1, max(r["wall_s"] - t1, 1e-9)
        lines.append(f"  phases: until the last seat {t1:.2f} s, {p1} answers ({p1 / t1:.0f}/s); "
                     f"then {t2:.2f} s, {p2} answers ({p2 / t2:.0f}/s)")
    if r.get("answers_per_half_second"):
        lines.append(f"  answers per 0.5 s: {r['answers_per_half_second']}")
    if r.get("shape") == "pay":
        d = r["db"]
        lines.append(
            f"  hold + pay: {r['confirmed']} confirmed end to end in {r['confirmed_wall_s']} s -> "
            f"{r['confirmed_per_s']} confirmed/s; journey p50 {r['journey_latency']['p50_ms']} ms, "
            f"p95 {r['journey_latency']['p95_ms']} ms, p99 {r['journey_latency']['p99_ms']} ms "
            f"(the hold alone: p50 {r['hold_latency']['p50_ms']} ms, p99 "
            f"{r['hold_latency']['p99_ms']} ms); payment steps failed {r['pay_failed']} "
            f"{r['pay_failed_samples'][:2]}")
        lines.append(
            f"  DB: {d['bookings']} bookings, {d['confirmed']} confirmed, {d['one_captured']} "
            f"with exactly one captured payment, {d['more_than_one_captured']} with more, "
            f"{d['no_captured']} with none")
    if r["unexpected"] or r["errors"]:
        lines.append(f"  status codes: {r['status_codes']}; samples: {r['error_samples'][:3]}")
    return "\n".join(lines)


MD_HEADER = (
    "| setting | attempts/s | wall s | p50 ms | p95 ms | p99 ms | held / seats | slot_full | errors "
    "| web CPU ms/attempt | server CPU ms/attempt | CPU s not the bench | RSS MiB/worker | /healthz req/s |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def md_row(r: dict) -> str:
    if "failed" in r:
        return f"| {r['label']} | failed: {r['failed'][:80]} |" + " |" * 12
    cpu = r["cpu"]
    server = sum(cpu[g]["cpu_s"] for g in ("web", "rq_worker", "postgres", "redis"))
    n = r["attempts"]
    return (
        f"| {r['label']} | {r['attempts_per_s']} | {r['wall_s']} | {r['p50_ms']} | {r['p95_ms']} "
        f"| {r['p99_ms']} | {r['held']} / {r['db']['capacity']} | {r['slot_full']} | {r['errors']} "
        f"| {1000 * cpu['web']['cpu_s'] / n:.2f} | {1000 * server / n:.2f} | {cpu['other']['cpu_s']} "
        f"| {r['web_rss_peak_per_worker_mib']} | {r.get('trivial_rps', '')} |"
    )


def event_page_path(web: stack.Web, event_id: int) -> str:
    """The event page's canonical address (``/events/<id>-<slug>``; the bare id redirects)."""
    with urllib.request.urlopen(web.url(f"/api/events/{event_id}"), timeout=10) as resp:
        return f"/events/{event_id}-{json.load(resp)['slug']}"


def reference_points(args, web, worker, data, burst, results) -> None:
    detail_id = data["listed_event_ids"][0]
    # The burst's e-mails would otherwise share the cores with the read benchmark.
    wait_for_jobs(worker)
    reads = run_read_rounds(web, worker, [
        {"name": TRIVIAL, "path": "/healthz"},
        {"name": "events_by_city", "path": f"/api/events?city_id={data['city_id']}"},
        {"name": "event_detail", "path": f"/api/events/{detail_id}"},
        # The parent site's two busiest pages (issue 17's target: >= 50 % of /healthz each).
        {"name": "home_page", "path": "/"},
        {"name": "event_page", "path": event_page_path(web, detail_id)},
    ], args.read_concurrency, args.read_seconds, args.read_rounds)
    base_rps = reads[TRIVIAL]["rps"] or 1
    burst["trivial_rps"] = reads[TRIVIAL]["rps"]
    for name, r in reads.items():
        r["ratio_to_trivial"] = round(r["rps"] / base_rps, 3)
        log(f"read {name:15s} {r['rps']:8.1f} req/s ({100 * r['ratio_to_trivial']:.0f}% of /healthz; "
            f"rounds {', '.join(f'{100 * x:.0f}%' for x in r['round_ratios'])}), "
            f"p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms, non-2xx {r['non_2xx']}, errors {r['errors']}, "
            f"web CPU {r['cpu']['web']['cores']} cores, generator {r['generator_cpu_s']} s")
    results["read"] = reads

    trivial = run_trivial_burst(web, worker, args.attempts)
    results["trivial_burst"] = trivial
    burst["trivial_burst_rps"] = trivial["attempts_per_s"]
    log(f"trivial burst: {args.attempts} x GET /healthz in the burst's shape: "
        f"{trivial['attempts_per_s']:.1f}/s (wall {trivial['wall_s']} s, p99 {trivial['p99_ms']} ms), "
        f"web CPU {trivial['cpu']['web']['cpu_s']} s = "
        f"{1000 * trivial['cpu']['web']['cpu_s'] / args.attempts:.2f} ms per request, "
        f"errors {trivial['errors']}, ok {trivial['ok']}")
    signed = run_trivial_burst(web, worker, args.attempts, path="/api/users/me",
                               tokens=[p["token"] for p in data["parents"][: args.attempts]])
    results["signed_in_burst"] = signed
    log(f"signed-in floor: {args.attempts} x GET /api/users/me (each its own parent) in the "
        f"burst's shape: {signed['attempts_per_s']:.1f}/s (wall {signed['wall_s']} s, p99 "
        f"{signed['p99_ms']} ms), web CPU {signed['cpu']['web']['cpu_s']} s = "
        f"{1000 * signed['cpu']['web']['cpu_s'] / args.attempts:.2f} ms per request, postgres "
        f"{signed['cpu']['postgres']['cpu_s']} s, errors {signed['errors']}, ok {signed['ok']}")

    pg = run_pgbench(data, web.url(""), args.pgbench_clients, args.attempts)
    results["pgbench"] = pg
    if pg.get("tps"):
        log(f"pgbench booking transaction: {pg['tps']:.0f} tps with {pg['clients']} clients "
            f"(latency avg {pg['latency_avg_ms']} ms; seats {pg['db']['seats_booked']}/{pg['db']['capacity']})")
    else:
        log(f"pgbench: {pg}")

    for shape in ("success", "pay"):
        shaped = [r for r in results.get("bursts", []) if r.get("shape") == shape]
        if not shaped:
            continue
        if "pgbench_success" not in results:
            pgs = run_pgbench(data, web.url(""), args.pgbench_clients, args.attempts, "success")
            results["pgbench_success"] = pgs
            if pgs.get("tps"):
                log(f"pgbench, the all-success hold's SQL (bench/pgbench_success.sql): "
                    f"{pgs['tps']:.0f} tps with {pgs['clients']} clients (latency avg "
                    f"{pgs['latency_avg_ms']} ms; seats {pgs['db']['seats_booked']}/"
                    f"{pgs['db']['capacity']})")
            else:
                log(f"pgbench success: {pgs}")
        pgs = results["pgbench_success"]
        if pgs.get("tps"):
            figure = shaped[0]["confirmed_per_s"] if shape == "pay" else shaped[0]["attempts_per_s"]
            results.setdefault("shape_ratios", {})[f"{shape}_vs_pgbench_success"] = round(
                figure / pgs["tps"], 3)
            log(f"ratio: {shape} burst {figure}/s = {100 * figure / pgs['tps']:.1f} % of pgbench "
                f"on the success SQL")

    ratios = {
        "burst_vs_trivial": round(burst["attempts_per_s"] / base_rps, 3),
        "burst_vs_trivial_burst": round(burst["attempts_per_s"] / trivial["attempts_per_s"], 3)
        if trivial["attempts_per_s"] else None,
        "burst_vs_pgbench": round(burst["attempts_per_s"] / pg["tps"], 3) if pg.get("tps") else None,
        "events_by_city_vs_trivial": reads["events_by_city"]["ratio_to_trivial"],
        "event_detail_vs_trivial": reads["event_detail"]["ratio_to_trivial"],
    }
    results["ratios"] = ratios
    log(f"ratios: {ratios}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=5000)
    parser.add_argument("--parents", type=int, default=None, help="default: = attempts")
    parser.add_argument("--api-parents", type=int, default=40,
                        help="parents registered through POST /api/auth/register")
    parser.add_argument("--list-events", type=int, default=12)
    parser.add_argument("--read-seconds", type=float, default=2.0,
                        help="one measured window of one read target")
    parser.add_argument("--read-rounds", type=int, default=3,
                        help="windows per read target, interleaved with the other targets'")
    parser.add_argument("--read-concurrency", type=int, default=64)
    parser.add_argument("--pgbench-clients", type=int, default=16)
    parser.add_argument("--levers", action="store_true",
                        help="also compare gunicorn/pool settings (the gevent ones need "
                        "`pip install -r requirements-bench.txt`)")
    parser.add_argument("--only", default=None, help="with --levers: only levers whose name contains one of these "
                             "comma-separated strings")
    parser.add_argument("--burst-only", action="store_true",
                        help="skip the read benchmark and pgbench (quick experiments)")
    parser.add_argument("--priority", type=int, default=None, metavar="NICE",
                        help="on a machine shared with other work: run the bench's sessions and "
                             "its PostgreSQL backends at this autogroup niceness (e.g. -10; root)")
    parser.add_argument("--shapes", default="hot",
                        help="comma-separated burst shapes: hot (10 slots x 50, random slot), "
                             "success (100 x 50, every attempt held), pay (success, then each "
                             "hold pays in the sandbox); `make bench-all`: hot,success,pay")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each shape this many times (one event each)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", default=None, help="write results here too")
    args = parser.parse_args()
    parents = args.parents or args.attempts

    prioritiser = None
    if args.priority is not None:
        stack.set_autogroup_nice(os.getpid(), args.priority)  # this session: generator, pgbench
        prioritiser = stack.Prioritiser(args.priority, stack.bench_pids)
        prioritiser.start()
    machine = procstat.machine_info()
    log(f"machine: {machine}")
    results: dict = {"machine": machine, "args": vars(args), "started": time.strftime("%F %T %Z")}
    if args.priority is not None:
        log(f"bench sessions and its PostgreSQL backends at autogroup niceness {args.priority}")

    log(f"fresh database {stack.BENCH_DB}, redis db {stack.BENCH_REDIS_DB}; migrating")
    stack.recreate_database()
    stack.flush_redis()
    stack.run_flask("db", "upgrade")
    worker = stack.RqWorker().start()
    web = stack.Web(label="web-default").start()
    log(f"gunicorn on :{web.port} with {len(web.worker_pids())} workers (gunicorn.conf.py defaults); "
        "RQ worker up")

    t0 = time.perf_counter()
    data = bench_setup.setup_all(web.url(""), parents, args.api_parents, args.list_events)
    log(f"set-up in {time.perf_counter() - t0:.1f} s: {data['api_parents']} parents via the API, "
        f"{data['bulk_parents']} in bulk; {len(data['listed_event_ids'])} listed events")

    shapes = [x.strip() for x in args.shapes.split(",") if x.strip()]
    unknown = set(shapes) - SHAPES.keys()
    if unknown:
        raise SystemExit(f"unknown shapes {sorted(unknown)}; known: {sorted(SHAPES)}")
    bursts = []
    for rep in range(args.repeat):
        for i, shape in enumerate(shapes):
            r = run_burst(web, worker, data, args.attempts, args.seed + 100 * rep + i,
                          shape if rep == 0 else f"{shape} #{rep + 1}", shape=shape)
            log(fmt_burst(r))
            bursts.append(r)
    burst = bursts[0]
    results["burst"] = burst
    results["bursts"] = bursts

    if not args.burst_only:
        reference_points(args, web, worker, data, burst, results)

    if args.levers:
        web.stop()
        results["levers"] = []
        for i, (name, settings) in enumerate(LEVERS):
            if args.only and not any(part in name for part in args.only.split(",")):
                continue
            lever_web = stack.Web(settings, label=f"web-lever-{i}").start()
            try:
                r = run_burst(lever_web, worker, data, args.attempts, args.seed + i + 1, name)
                triv = run_read(lever_web, worker, [{"name": TRIVIAL, "path": "/healthz"}],
                                args.read_concurrency, 3.0)[TRIVIAL]
                r["trivial_rps"] = triv["rps"]
            except Exception as exc:  # noqa: BLE001 - one broken setting must not end the run
                r = {"label": name, "settings": settings, "failed": repr(exc)}
            finally:
                lever_web.stop()
            results["levers"].append(r)
            log(fmt_burst(r) + f"\n  /healthz {r['trivial_rps']} req/s" if "failed" not in r
                else f"lever {name} failed: {r['failed']}")

    print("\n" + MD_HEADER)
    for r in [*bursts, *results.get("levers", [])]:
        print(md_row(r))
    print()
    out = Path(args.json) if args.json else stack.LOG_DIR / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    log(f"results saved to {out}")
    if prioritiser is not None:
        prioritiser.stop()
    stack.stop_all()
    return 0 if all(r["ok"] for r in bursts) else 1


if __name__ == "__main__":
    sys.exit(main())
