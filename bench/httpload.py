"""A lean asyncio HTTP/1.1 load generator (stdlib only).

It runs on the same 2 cores as the server, so every microsecond it spends is taken from the
server: raw ``asyncio.Protocol`` connections and pre-built request bytes keep it cheap. Two modes:

* ``burst``: open N connections first, then write one request on each in a tight loop (the
  "same instant"), and time every answer from its own write.
* ``closed_loop``: C connections each sending request after request (keep-alive when the server
  allows it) for a fixed time -> throughput of an endpoint.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time


def raise_nofile(wanted: int) -> int:
    """Raise the open-files limit towards ``wanted`` (bounded by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def build_request(
    method: str, path: str, *, token: str | None = None, body: dict | None = None,
    host: str = "127.0.0.1", close: bool = False,
) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines.append("Content-Type: application/json")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(payload)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class HttpConn(asyncio.Protocol):
    """One client connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False
        self.t_send = 0.0
        self.t_done = 0.0

    # -- asyncio callbacks -------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf.extend(data)
        if self.waiter is not None and not self.waiter.done():
            parsed = self._parse()
            if parsed is not None:
                self.t_done = time.perf_counter()
                self.waiter.set_result(parsed)

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.t_done = time.perf_counter()
            self.waiter.set_exception(ConnectionResetError("connection closed before an answer"))

    # -- API ---------------------------------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future:
        self.waiter = asyncio.get_running_loop().create_future()
        self.t_send = time.perf_counter()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def _parse(self):
        """(status, body, server_closes) once a whole response is buffered, else None."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        length = None
        chunked = closes = False
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                closes = True
        start = end + 4
        if chunked:
            body = bytearray()
            pos = start
            while True:
                nl = self.buf.find(b"\r\n", pos)
                if nl < 0:
                    return None
                size = int(bytes(self.buf[pos:nl]).split(b";")[0], 16)
                if len(self.buf) < nl + 2 + size + 2:
                    return None
                body += self.buf[nl + 2 : nl + 2 + size]
                pos = nl + 2 + size + 2
                if size == 0:
                    del self.buf[:pos]
                    return status, bytes(body), closes
        if length is None:
            length = 0
        if len(self.buf) < start + length:
            return None
        body = bytes(self.buf[start : start + length])
        del self.buf[: start + length]
        return status, body, closes


async def connect(host: str, port: int) -> HttpConn:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(HttpConn, host, port)
    return proto


async def open_many(host: str, port: int, n: int, parallel: int = 500) -> tuple[list, list]:
    """Open ``n`` connections, at most ``parallel`` handshakes at a time. -> (conns, errors)."""
    sem = asyncio.Semaphore(parallel)

    async def one():
        async with sem:
            try:
                return await asyncio.wait_for(connect(host, port), 30)
            except (TimeoutError, OSError) as exc:
                return exc

    results = await asyncio.gather(*(one() for _ in range(n)))
    conns = [r for r in results if isinstance(r, HttpConn)]
    errors = [repr(r) for r in results if not isinstance(r, HttpConn)]
    return conns, errors


async def burst(conns: list[HttpConn], requests: list[bytes], timeout: float) -> list[dict]:
    """Write requests[i] on conns[i], all in one tight loop; wait for every answer."""
    futures = []
    t0 = time.perf_counter()
    for conn, req in zip(conns, requests, strict=True):
        if conn.closed:
            fut = asyncio.get_running_loop().create_future()
            fut.set_exception(ConnectionResetError("closed by the server before the burst"))
            conn.t_send = conn.t_done = time.perf_counter()
            futures.append(fut)
        else:
            futures.append(conn.send(req))
    t_sent = time.perf_counter()
    done, pending = await asyncio.wait(futures, timeout=timeout)
    results = []
    for conn, fut in zip(conns, futures, strict=True):
        if fut in pending:
            fut.cancel()
            results.append({"outcome": "timeout", "t_send": conn.t_send - t0})
            continue
        exc = fut.exception()
        if exc is not None:
            results.append(
                {"outcome": "reset", "error": repr(exc), "t_send": conn.t_send - t0,
                 "t_done": conn.t_done - t0}
            )
            continue
        status, body, _ = fut.result()
        results.append(
            {"outcome": "answer", "status": status, "body": body, "t_send": conn.t_send - t0,
             "t_done": conn.t_done - t0, "latency": conn.t_done - conn.t_send}
        )
    for conn in conns:
        conn.close()
    return results, t_sent - t0


async def closed_loop(
    host: str, port: int, request: bytes, concurrency: int, seconds: float, warmup: float = 1.0
) -> dict:
    """``concurrency`` clients, each sending ``request`` again as soon as the last one answered."""
    stats = {"ok": 0, "non_2xx": 0, "errors": 0, "latencies": [], "reconnects": 0}
    deadline_warm = time.perf_counter() + warmup
    deadline = deadline_warm + seconds

    async def client():
        conn = None
        while True:
            now = time.perf_counter()
            if now >= deadline:
                break
            try:
                if conn is None or conn.closed:
                    if conn is not None:
                        stats["reconnects"] += 1
                    conn = await connect(host, port)
                status, _body, closes = await asyncio.wait_for(conn.send(request), 30)
            except (TimeoutError, OSError):
                if time.perf_counter() >= deadline_warm:
                    stats["errors"] += 1
                conn = None
                continue
            if conn.t_send >= deadline_warm and conn.t_done <= deadline:
                stats["latencies"].append(conn.t_done - conn.t_send)
                stats["ok" if 200 <= status < 300 else "non_2xx"] += 1
            if closes:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    lat = sorted(stats.pop("latencies"))
    done = stats["ok"] + stats["non_2xx"]
    stats.update(
        requests=done,
        seconds=seconds,
        rps=round(done / seconds, 1),
        **percentiles(lat),
    )
    return stats


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    s = sorted(values)

    def pick(q: float) -> float:
        return round(1000 * s[min(len(s) - 1, int(q * len(s)))], 1)

    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "max_ms": round(1000 * s[-1], 1)}
