"""Throughput of read endpoints with a fixed number of busy clients (closed loop).

    python bench/read_bench.py PLAN.json RESULT.json

PLAN: {"host", "port", "concurrency", "seconds", "warmup",
       "targets": [{"name", "path", "token"?}, ...]}
Each target runs in turn with the same generator; RESULT.json maps name -> stats (rps, latency
percentiles, non-2xx and errors, generator CPU). The trivial endpoint (/healthz) is one of the
targets, so the caller can print every other target as a ratio of it.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys

import httpload


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def main(plan: dict) -> dict:
    httpload.raise_nofile(plan["concurrency"] * 2 + 1024)
    out = {}
    for target in plan["targets"]:
        req = httpload.build_request("GET", target["path"], token=target.get("token"))
        cpu0 = _cpu()
        stats = await httpload.closed_loop(
            plan["host"], plan["port"], req, plan["concurrency"], plan["seconds"],
            plan.get("warmup", 1.0),
        )
        stats["generator_cpu_s"] = round(_cpu() - cpu0, 2)
        stats["path"] = target["path"]
        out[target["name"]] = stats
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        plan_data = json.load(fh)
    result = asyncio.run(main(plan_data))
    with open(sys.argv[2], "w") as fh:
        json.dump(result, fh, indent=2)
