"""The booking burst's load generator, run as its own process so its CPU is measured apart.

    python bench/burst.py PLAN.json RESULT.json

PLAN: {"host", "port", "timeout", "connect_parallel", "attempts": [{"token", "event_id",
"child_id", "slot_id"}, ...]}; with "path" (and attempts only counted), GET that path instead. It opens one connection per attempt, prints ``READY n errors``,
waits for a ``GO`` line on stdin (the caller starts its CPU meters then), writes every request in
one tight loop and records each answer. The summary goes to RESULT.json.

With "pay": {"key_secret"}, each held booking goes on at once, on its own connection, as the
parent's app would: ``POST /api/payments/create`` (sandbox order), then the checkout's answer
signed as the sandbox signs it, ``POST /api/payments/confirm``. Latency is then the whole journey,
from the hold's write to the confirmation's answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import resource
import secrets
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
        requests = [httpload.build_request("GET", plan["path"], token=a.get("token"))
                    for a in attempts]
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
    if plan.get("pay"):
        results, send_s = await pay_burst(plan, conns, requests[: len(conns)],
                                          attempts[: len(conns)])
    else:
        results, send_s = await httpload.burst(conns, requests[: len(conns)], plan["timeout"])
    cpu_used = _cpu() - cpu0
    summary = summarise(results, connect_errors, connect_s, send_s, cpu_used)
    if plan.get("pay"):
        summary.update(summarise_pay(results, summary))
    return summary


# -- hold + pay --------------------------------------------------------------------------------
async def pay_burst(plan: dict, conns, requests, attempts):
    """Write every hold in one tight loop (as ``httpload.burst``), then each connection goes on
    with its booking's payment as soon as its hold is answered."""
    secret = plan["pay"]["key_secret"]
    t0 = time.perf_counter()
    holds = []
    for conn, req in zip(conns, requests, strict=True):
        if conn.closed:
            fut = asyncio.get_running_loop().create_future()
            fut.set_exception(ConnectionResetError("closed by the server before the burst"))
            conn.t_send = conn.t_done = time.perf_counter()
            holds.append(fut)
        else:
            holds.append(conn.send(req))
    t_sent = time.perf_counter()
    chains = [
        asyncio.ensure_future(_pay_chain(plan, conn, fut, att["token"], secret, t0))
        for conn, fut, att in zip(conns, holds, attempts, strict=True)
    ]
    done, pending = await asyncio.wait(chains, timeout=plan["timeout"])
    results = []
    for conn, chain in zip(conns, chains, strict=True):
        if chain in pending:
            chain.cancel()
            results.append({"outcome": "timeout", "t_send": conn.t_send - t0})
        else:
            results.append(chain.result())
    for conn in conns:
        conn.close()
    return results, t_sent - t0


async def _send(plan: dict, holder: list, request: bytes):
    """One more request on the connection (a new one when the server closed the last)."""
    conn = holder[0]
    if conn.closed:
        conn = holder[0] = await httpload.connect(plan["host"], plan["port"])
    return await conn.send(request)


async def _pay_chain(plan: dict, conn, hold_future, token: str, secret: str, t0: float) -> dict:
    t_start = conn.t_send
    try:
        status, body, _closes = await hold_future
    except OSError as exc:
        return {"outcome": "reset", "error": repr(exc), "t_send": conn.t_send - t0,
                "t_done": conn.t_done - t0}
    rec = {"outcome": "answer", "status": status, "body": body, "t_send": t_start - t0,
           "t_hold": conn.t_done - t0, "t_done": conn.t_done - t0,
           "latency": conn.t_done - t_start, "hold_latency": conn.t_done - t_start}
    if status != 201:
        return rec
    holder = [conn]
    try:
        booking_id = json.loads(body)["booking"]["id"]
        create = httpload.build_request("POST", "/api/payments/create", token=token,
                                        body={"booking_id": booking_id})
        status, body, _ = await _send(plan, holder, create)
        if status != 201:
            rec.update(pay_step="create", pay_status=status, pay_body=body[:300])
            return rec
        order = json.loads(body)
        # What the sandbox checkout hands the app after the parent pays: a payment id and the
        # order's signature over it (Razorpay's scheme, the bench's key secret).
        payment_ref = "pay_" + secrets.token_hex(7)
        signature = hmac.new(secret.encode(), f"{order['provider_order_id']}|{payment_ref}"
                             .encode(), hashlib.sha256).hexdigest()
        confirm = httpload.build_request("POST", "/api/payments/confirm", token=token, body={
            "payment_id": order["payment_id"], "provider_payment_id": payment_ref,
            "signature": signature})
        status, body, _ = await _send(plan, holder, confirm)
        t_done = holder[0].t_done
        rec.update(t_done=t_done - t0, latency=t_done - t_start, pay_step="confirm",
                   pay_status=status, booking_id=booking_id, payment_id=order["payment_id"])
        if status == 200:
            paid = json.loads(body)
            rec["confirmed"] = (paid.get("status") == "captured"
                                and paid.get("booking_status") == "confirmed")
        else:
            rec["pay_body"] = body[:300]
    except OSError as exc:
        rec.update(pay_step="network", pay_error=repr(exc))
    finally:
        if holder[0] is not conn:
            holder[0].close()
    return rec


def summarise_pay(results, summary: dict) -> dict:
    confirmed = [r for r in results if r.get("confirmed")]
    failed = Counter(f"{r.get('pay_step')} {r.get('pay_status', r.get('pay_error', ''))}"
                     for r in results if r.get("status") == 201 and not r.get("confirmed"))
    samples = [r.get("pay_body", b"")[:200].decode("utf-8", "replace")
               for r in results if r.get("status") == 201 and not r.get("confirmed")][:3]
    last = max((r["t_done"] for r in confirmed), default=0.0)
    hold_lat = [r["hold_latency"] for r in results if r.get("hold_latency") is not None]
    return {
        "confirmed": len(confirmed),
        "pay_failed": dict(failed),
        "pay_failed_samples": samples,
        "confirmed_wall_s": round(last, 3),
        "confirmed_per_s": round(len(confirmed) / last, 1) if last else 0,
        "confirmed_booking_ids": sorted(r["booking_id"] for r in confirmed),
        "hold_latency": httpload.percentiles(hold_lat),
        "journey_latency": httpload.percentiles([r["latency"] for r in confirmed]),
    }


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
