"""Two web instances and two workers on one PostgreSQL and one Redis, as real processes.

Two gunicorn masters on two free ports (as behind a load balancer) and two ``worker.py``
processes, all on the test database and Redis with the production hand-over (jobs go through the
outbox and the workers' relays). Checked across them:
- a sign-out on one instance is honoured by the other at the next request: the API's access and
  refresh tokens, and the parent site's session cookie (a copy kept from before the sign-out);
- the booking race across both instances sells exactly the capacity;
- jobs committed once are run once across the two workers: every e-mail arrives exactly once.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from nibog.booking.models import BookingItem
from nibog.catalog.models import GameSlot
from nibog.core import boundary
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from nibog.notifications.service import queue_email
from tests.booking.world import make_world
from tests.factories import PASSWORD, ChildFactory, UserFactory, birth_date_for_age
from tests.helpers import auth_headers
from tests.ops.processes import answers, child_env, free_port, http, spawn, stop, wait_until

# Commit mode (docs/testing.md, "Isolation"): two app instances (threads, own connections) share one database.
pytestmark = pytest.mark.commits


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.recipients: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted"


@pytest.fixture
def cluster(app, tmp_path):
    """Started for each test and stopped before its clean-up empties the database (a TRUNCATE
    under running processes deadlocks, and one test's late jobs must not reach the next)."""
    processes = []
    smtp = Recorder()
    smtp_port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    common = dict(JOBS_HANDOFF="relay", MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                  MAIL_PORT=smtp_port, MAIL_USE_TLS="0", MAIL_USERNAME="",
                  OUTBOX_RELAY_SECONDS="0.2")
    webs = []
    for n in (1, 2):
        port = free_port()
        metrics_dir = tmp_path / f"metrics{n}"
        metrics_dir.mkdir()
        env = child_env(app, PORT=port, WEB_CONCURRENCY=1, GUNICORN_THREADS=4,
                        PROMETHEUS_MULTIPROC_DIR=metrics_dir, **common)
        proc = spawn(["-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], env,
                     tmp_path / f"web{n}.log")
        processes.append(proc)
        webs.append((f"http://127.0.0.1:{port}", proc))
    workers = []
    for n in (1, 2):
        proc = spawn(["worker.py"], child_env(app, **common), tmp_path / f"worker{n}.log")
        processes.append(proc)
        workers.append(proc)
    try:
        for base, proc in webs:
            wait_until(lambda b=base: answers(b + "/healthz"), f"{base} to answer", procs=[proc])
        yield [b for b, _ in webs], workers, smtp
    finally:
        for proc in reversed(processes):
            stop(proc)
        controller.stop()


def _json(method, url, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, raw = http(method, url, json.dumps(body).encode() if body is not None else None,
                       headers)
    return status, json.loads(raw) if raw else None


def test_an_api_sign_out_on_one_instance_is_honoured_by_the_other(cluster):
    (a, b), _, _ = cluster
    user = UserFactory()
    boundary.commit()
    status, tokens = _json("POST", a + "/api/auth/login", {"email": user.email,
                                                          "password": PASSWORD})
    assert status == 200, tokens
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    assert _json("GET", b + "/api/users/me", token=access)[0] == 200
    assert _json("POST", a + "/api/auth/logout", token=access)[0] == 204
    # The very next request, on the other instance: the access token and its refresh token.
    status, body = _json("GET", b + "/api/users/me", token=access)
    assert status == 401, body
    assert _json("POST", b + "/api/auth/refresh", token=refresh)[0] == 401
    assert _json("GET", a + "/api/users/me", token=access)[0] == 401


class Browser:
    """Cookies by hand: one instance's cookie replayed on the other, as a balancer would."""

    def __init__(self):
        self.cookie = ""

    def request(self, method, url, form=None):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, raw, set_cookie = _http_with_cookie(method, url, body, headers)
        if set_cookie:
            self.cookie = set_cookie
        return status, raw.decode(errors="replace")

    def csrf(self, url) -> str:
        status, page = self.request("GET", url)
        assert status == 200, page[:500]
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _http_with_cookie(method, url, body, headers):
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        resp = opener.open(req, timeout=10)
    except urllib.error.HTTPError as exc:
        resp = exc
    cookie = resp.headers.get("Set-Cookie", "")
    session = re.match(r"(session=[^;]*)", cookie)
    return resp.status if hasattr(resp, "status") else resp.code, resp.read(), (
        session.group(1) if session else "")


def test_a_site_sign_out_on_one_instance_ends_the_session_on_the_other(cluster):
    (a, b), _, _ = cluster
    user = UserFactory()
    boundary.commit()
    browser = Browser()
    token = browser.csrf(a + "/login")
    status, _ = browser.request("POST", a + "/login", {"csrf_token": token, "email": user.email,
                                                       "password": PASSWORD})
    assert status == 302
    signed_in = browser.cookie
    assert browser.request("GET", b + "/account")[0] == 200  # the other instance knows it
    token = browser.csrf(b + "/account")
    assert browser.request("POST", a + "/logout", {"csrf_token": token})[0] == 302
    assert browser.request("GET", b + "/account")[0] == 302  # the browser's new cookie
    # A copy of the cookie from before the sign-out (another tab, a stolen cookie): refused on
    # both instances - the sign-out is recorded in Redis, not only in the browser.
    browser.cookie = signed_in
    status, _ = browser.request("GET", b + "/account")
    assert status == 302
    browser.cookie = signed_in
    assert browser.request("GET", a + "/account")[0] == 302


def test_the_booking_race_across_both_instances_sells_exactly_the_capacity(cluster):
    (a, b), _, _ = cluster
    w = make_world(capacity=5)
    parents = []
    for _ in range(12):
        parent = UserFactory()
        child = ChildFactory(parent=parent,
                             date_of_birth=birth_date_for_age(24, w.event.event_date))
        parents.append((auth_headers(parent)["Authorization"].split()[1], child.id))
    event_id, slot_id = w.event.id, w.slots[0].id
    boundary.commit()

    def attempt(i):
        token, child_id = parents[i]
        return _json("POST", (a, b)[i % 2] + "/api/bookings", {
            "event_id": event_id, "items": [{"child_id": child_id, "slot_id": slot_id}]},
            token)

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(attempt, range(12)))
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 5, 409: 7}, results
    assert {body["error"]["code"] for status, body in results if status == 409} == {"slot_full"}
    db.session.expire_all()
    live = db.session.scalar(select(func.count()).select_from(BookingItem).where(
        BookingItem.slot_id == slot_id, BookingItem.is_live.is_(True)))
    assert db.session.get(GameSlot, slot_id).booked_count == live == 5


def test_jobs_committed_once_run_once_across_two_workers(cluster, app, monkeypatch):
    _, workers, smtp = cluster
    with smtp.lock:
        smtp.recipients.clear()
    monkeypatch.setitem(app.config, "JOBS_SYNC", False)
    monkeypatch.setitem(app.config, "JOBS_HANDOFF", "relay")
    users = [UserFactory() for _ in range(40)]
    for user in users:  # forty commits: both workers' relays and both workers compete
        queue_email("welcome", user.email, {"full_name": "Asha"}, user_id=user.id)
        boundary.commit()

    def all_sent():
        db.session.expire_all()
        return db.session.scalar(select(func.count()).select_from(NotificationLog).where(
            NotificationLog.status == "sent")) == 40

    wait_until(all_sent, "forty e-mails to be sent", procs=workers)
    with smtp.lock:
        counts = Counter(smtp.recipients)
    assert counts == Counter({user.email: 1 for user in users})
