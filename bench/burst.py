"""The booking burst's load generator, run as its own process so its CPU is measured apart.

    python bench/burst.py PLAN.json RESULT.json

PLAN: {"host", "port", "timeout", "connect_parallel", "attempts": [{"token", "event_id",
"child_id", "slot_id"}, ...]}; with "path" (and attempts only counted), GET that path instead. It opens one connection per attempt, prints ``READY n errors``,
waits for a ``GO`` line on stdin (the caller starts its CPU meters then), writes every request in
one tight loop and records each answer. The summary goes to RESULT.json.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter

import httpload


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def main(plan: dict) -> dict:
    attempts = plan["attempts"]
    httpload.raise_nofile(len(attempts) + 1024)
    if plan.get("path"):
        # The reference burst: the same connections and timing, a trivial endpoint.
        requests = [httpload.build_request("GET", plan["path"]) for _ in attempts]
    else:
        requests = [
            httpload.build_request(
                "POST", "/api/bookings", token=a["token"],
                body={"event_id": a["event_id"],
                      "items": [{"child_id": a["child_id"], "slot_id": a["slot_id"]}]},
            )
            for a in attempts
        ]
    t_conn = time.perf_counter()
    conns, connect_errors = await httpload.open_many(
        plan["host"], plan["port"], len(attempts), plan.get("connect_parallel", 500)
    )
    connect_s = time.perf_counter() - t_conn
    print(f"READY {len(conns)} {len(connect_errors)}", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if line.strip() != "GO":
        raise SystemExit("no GO")
    cpu0 = _cpu()
    results, send_s = await httpload.burst(conns, requests[: len(conns)], plan["timeout"])
    cpu_used = _cpu() - cpu0
    return summarise(results, connect_errors, connect_s, send_s, cpu_used)


def summarise(results, connect_errors, connect_s, send_s, cpu_used) -> dict:
    outcome = Counter()
    codes = Counter()
    latencies = []
    held_slots = Counter()
    samples = []
    last_done = 0.0
    last_held = 0.0  # when the last seat was taken: the burst's "booking" phase
    # Answers per half second: shows stalls (e.g. connections left waiting in the accept queue).
    timeline = Counter()
    for r in results:
        if r["outcome"] != "answer":
            outcome[r["outcome"]] += 1
            if len(samples) < 5:
                samples.append(r.get("error", r["outcome"]))
            continue
        latencies.append(r["latency"])
        last_done = max(last_done, r["t_done"])
        timeline[int(r["t_done"] * 2)] += 1
        status = r["status"]
        code = ""
        try:
            data = json.loads(r["body"]) if r["body"] else {}
            if isinstance(data, dict) and isinstance(data.get("error"), dict):
                code = data["error"].get("code", "")
            elif status == 201 and isinstance(data, dict):
                for item in data.get("items") or []:
                    held_slots[str((item.get("slot") or {}).get("id"))] += 1
        except ValueError:
            code = "non_json"
        codes[f"{status} {code}".strip()] += 1
        if status == 200:
            outcome["ok"] += 1
        elif status == 201:
            outcome["held"] += 1
            last_held = max(last_held, r["t_done"])
        elif status == 409 and code == "slot_full":
            outcome["slot_full"] += 1
        elif status >= 500:
            outcome["5xx"] += 1
            if len(samples) < 5:
                samples.append(f"{status} {r['body'][:200]!r}")
        else:
            outcome["unexpected"] += 1
            if len(samples) < 5:
                samples.append(f"{status} {r['body'][:200]!r}")
    outcome["connect_error"] = len(connect_errors)
    attempts = len(results) + len(connect_errors)
    errors = outcome["5xx"] + outcome["reset"] + outcome["timeout"] + outcome["connect_error"]
    wall = last_done if last_done else float("nan")
    # The two phases of a burst: until the last seat is taken (the holds), then the rest.
    in_phase_1 = sum(1 for r in results if r["outcome"] == "answer" and r["t_done"] <= last_held)
    return {
        "attempts": attempts,
        "held": outcome["held"],
        "ok_answers": outcome["ok"],
        "slot_full": outcome["slot_full"],
        "errors": errors,
        "errors_detail": {k: outcome[k] for k in ("5xx", "reset", "timeout", "connect_error")},
        "unexpected": outcome["unexpected"],
        "status_codes": dict(codes),
        "error_samples": samples + [repr(e) for e in connect_errors[:3]],
        "connect_s": round(connect_s, 2),
        "send_s": round(send_s, 3),
        "wall_s": round(wall, 3),
        "last_held_s": round(last_held, 3),
        "phase_1_answers": in_phase_1,
        "attempts_per_s": round(attempts / wall, 1) if last_done else 0,
        "generator_cpu_s": round(cpu_used, 2),
        "answers_per_half_second": [timeline[i] for i in range(max(timeline, default=-1) + 1)],
        **httpload.percentiles(latencies),
    }


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        plan_data = json.load(fh)
    summary = asyncio.run(main(plan_data))
    with open(sys.argv[2], "w") as fh:
        json.dump(summary, fh, indent=2)
    print("DONE", flush=True)
