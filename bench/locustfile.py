"""Mixed traffic of parents (issue 21): the real journeys, for ``bench/load.py`` (``make bench-load``).

Each simulated parent signs in once (``POST /api/auth/login``, a real argon2 check), then, with a
think time of 1-3 s between steps, browses the listing and events (API and parent-site pages),
checks eligibility, books a seat, opens its sandbox payment order and confirms it (signed as the
sandbox checkout signs), and opens its account, bookings and ticket. Weights follow a shop: many
more reads than writes. The data (city, events, parents) comes from ``LOAD_DATA`` (a JSON file
``load.py`` writes after setting the bench up through the API).

A ``409 slot_full`` or ``already_booked`` answer is a correct answer of a full or repeated booking,
not an error: it is counted under its own name. Everything else that is not 2xx is a failure.

The writes behave as the mobile app is told to (api-contract.md): a booking and a payment order
carry an ``Idempotency-Key``, and a write whose kept-alive connection was dropped before any
answer (status 0: the server closed an idle connection as the client reused it, a race every
HTTP/1.1 keep-alive server has) is sent once more, with the same key, and answers as the first
would have. Each such retry is counted under "connection dropped, retried", so it shows. A GET
whose kept-alive connection dropped is sent once more, as browsers and the app's HTTP client do
by themselves (urllib3's retry; its warning lands in ``locust.out`` and ``load.py`` counts it).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import secrets

from locust import HttpUser, between, task
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DATA = json.loads(open(os.environ["LOAD_DATA"]).read())  # noqa: SIM115 - read once at import
_next_parent = itertools.count()


class Parent(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.me = DATA["parents"][next(_next_parent) % len(DATA["parents"])]
        self.token = None
        self.paid: list[int] = []
        # Reads only: a dropped connection before any answer is sent again once.
        self.client.mount(self.host, HTTPAdapter(max_retries=Retry(
            total=1, connect=1, read=1, status=0, allowed_methods=frozenset({"GET"}))))
        self.sign_in()

    # -- helpers -------------------------------------------------------------------------------
    def _auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _event(self) -> dict:
        return random.choice(DATA["events"])

    def _write(self, path: str, body: dict, name: str, key: str | None = None):
        """POST ``body``; sent once more (same key) if the connection dropped before an answer."""
        headers = {**self._auth(), **({"Idempotency-Key": key} if key else {})}
        # Not entered here: the caller's ``with`` judges and reports the answer once.
        first = self.client.post(path, json=body, headers=headers, name=name,
                                 catch_response=True)
        if first.status_code != 0:
            return first
        with first:
            first.success()  # not an answer: the retry's is
        self.environment.events.request.fire(
            request_type="outcome", name=f"{name}: connection dropped, retried",
            response_time=0, response_length=0, exception=None, context={})
        return self.client.post(path, json=body, headers=headers, name=name,
                                catch_response=True)

    # -- journeys ------------------------------------------------------------------------------
    @task(1)
    def sign_in(self) -> None:
        with self.client.post("/api/auth/login", name="POST /api/auth/login",
                              json={"email": self.me["email"], "password": DATA["password"]},
                              catch_response=True) as resp:
            if resp.status_code == 200:
                self.token = resp.json()["access_token"]
            else:
                resp.failure(f"{resp.status_code} {resp.text[:120]}")

    @task(10)
    def listing(self) -> None:
        self.client.get(f"/api/events?city_id={DATA['city_id']}", name="GET /api/events?city_id")

    @task(8)
    def event(self) -> None:
        self.client.get(f"/api/events/{self._event()['id']}", name="GET /api/events/[id]")

    @task(4)
    def eligibility(self) -> None:
        self.client.get(
            f"/api/events/{self._event()['id']}/check-eligibility?child_id={self.me['child_id']}",
            name="GET /api/events/[id]/check-eligibility", headers=self._auth(),
        )

    @task(5)
    def home_page(self) -> None:
        self.client.get("/", name="GET / (site)")

    @task(3)
    def events_page(self) -> None:
        self.client.get("/events", name="GET /events (site)")

    @task(5)
    def event_page(self) -> None:
        self.client.get(self._event()["page"], name="GET /events/[id]-[slug] (site)")

    @task(1)
    def login_page(self) -> None:
        self.client.get("/login", name="GET /login (site)")

    @task(3)
    def book_and_pay(self) -> None:
        event = self._event()
        body = {"event_id": event["id"],
                "items": [{"child_id": self.me["child_id"], "slot_id": random.choice(event["slot_ids"])}]}
        with self._write("/api/bookings", body, "POST /api/bookings",
                         key=secrets.token_hex(16)) as resp:
            if resp.status_code == 409:
                code = resp.json().get("error", {}).get("code")
                if code in ("slot_full", "already_booked"):
                    resp.success()
                    self.environment.events.request.fire(
                        request_type="outcome", name=f"booking refused: {code}",
                        response_time=0, response_length=0, exception=None, context={})
                    return
            if resp.status_code != 201:
                resp.failure(f"{resp.status_code} {resp.text[:120]}")
                return
            booking_id = resp.json()["booking"]["id"]
        with self._write("/api/payments/create", {"booking_id": booking_id},
                         "POST /api/payments/create", key=secrets.token_hex(16)) as resp:
            if resp.status_code != 201:
                resp.failure(f"{resp.status_code} {resp.text[:120]}")
                return
            order = resp.json()
        ref = "pay_" + secrets.token_hex(7)
        signature = hmac.new(DATA["key_secret"].encode(),
                             f"{order['provider_order_id']}|{ref}".encode(),
                             hashlib.sha256).hexdigest()
        # Confirming is idempotent by itself: a second confirm of a captured payment answers
        # as the first did.
        with self._write("/api/payments/confirm",
                         {"payment_id": order["payment_id"], "provider_payment_id": ref,
                          "signature": signature}, "POST /api/payments/confirm") as resp:
            if resp.status_code == 200 and resp.json().get("booking_status") == "confirmed":
                self.paid.append(booking_id)
            else:
                resp.failure(f"{resp.status_code} {resp.text[:120]}")

    @task(2)
    def account(self) -> None:
        self.client.get("/api/users/me", headers=self._auth(), name="GET /api/users/me")

    @task(2)
    def my_bookings(self) -> None:
        self.client.get("/api/bookings", headers=self._auth(), name="GET /api/bookings")

    @task(2)
    def ticket(self) -> None:
        if self.paid:
            self.client.get(f"/api/bookings/{random.choice(self.paid)}/ticket",
                            headers={**self._auth(), "Accept": "application/json"},
                            name="GET /api/bookings/[id]/ticket (json)")

    @task(1)
    def ticket_pdf(self) -> None:
        if self.paid:
            self.client.get(f"/api/bookings/{random.choice(self.paid)}/ticket",
                            headers={**self._auth(), "Accept": "application/pdf"},
                            name="GET /api/bookings/[id]/ticket (pdf)")
