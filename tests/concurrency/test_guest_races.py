"""A guest's double submit (no Idempotency-Key) on real parallel PostgreSQL connections.

Guests have no account row to lock: each e-mail's placeholder owner and child are created by
the first request. Two requests for a new e-mail at the same moment must still end as one hold
and one ``409 already_booked``; the control switches the per-e-mail lock off
(``guards.guest_email_lock``) and the same forced interleaving books the one child twice.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from nibog.accounts.models import Child
from nibog.booking.models import Booking
from nibog.catalog.models import GameSlot
from nibog.core import locking
from nibog.extensions import db
from tests.booking.test_guest import guest_body
from tests.booking.world import make_world
from tests.concurrency.race import interleave

# Long enough for two threads to meet; with the lock on the second never arrives (it waits for
# the first's commit), so the first goes on after this.
MEET_SECONDS = 2


def meet_at(stage: str, parties: int):
    """A locking.guards.pause hook: line the requests up after their unlocked reads, if they can meet."""
    barrier = threading.Barrier(parties, timeout=MEET_SECONDS)
    seen = threading.local()

    def hook(name: str) -> None:
        if name == stage and not getattr(seen, "done", False):
            seen.done = True
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass

    return hook


def double_submit(app, body, n=2):
    results = [None] * n
    start = threading.Barrier(n, timeout=30)

    def submit(i):
        client = app.test_client()
        start.wait()
        resp = client.post("/api/bookings/guest", json=body)
        results[i] = (resp.status_code, resp.get_json())

    threads = [threading.Thread(target=submit, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a guest booking hung"
    return sorted(results, key=lambda r: r[0])


def counts(slot_id):
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Booking)),
        db.session.scalar(select(func.count()).select_from(Child)),
        db.session.get(GameSlot, slot_id).booked_count,
    )


def test_a_guest_double_submit_books_the_child_once(app, monkeypatch):
    w = make_world(n_children=0)
    monkeypatch.setattr(locking.guards, "pause", meet_at("read", 2))
    (first, second) = double_submit(app, guest_body(w))
    assert first[0] == 201, first
    assert second[0] == 409 and second[1]["error"]["code"] == "already_booked", second
    # The refusal names the hold to pay, as it does for an account.
    assert second[1]["error"]["details"]["items"][0]["booking_id"] == first[1]["booking"]["id"]
    assert counts(w.slots[0].id) == (1, 1, 1)


def _a_submit_during_another(app):
    """The second submit arrives while the first has taken its e-mail lock and made the
    placeholder owner and child (uncommitted), and reads the slot."""
    w = make_world(n_children=0)
    body = guest_body(w)

    def submit(_):
        resp = app.test_client().post("/api/bookings/guest", json=body)
        return resp.status_code, resp.get_json()

    results = interleave(app, submit, submit, "read")
    return [r[1] for r in results], counts(w.slots[0].id)


def test_a_submit_during_another_waits_for_it_and_hears_already_booked(app):
    (first, second), state = _a_submit_during_another(app)
    assert first[0] == 201, first
    assert second[0] == 409 and second[1]["error"]["code"] == "already_booked", second
    assert state == (1, 1, 1)


def test_control_without_the_e_mail_lock_the_child_is_booked_twice(app, monkeypatch):
    monkeypatch.setattr(locking.guards, "guest_email_lock", False)
    (first, second), state = _a_submit_during_another(app)
    # Neither saw the other's placeholder: two owners, two children, two seats for one child.
    assert (first[0], second[0]) == (201, 201), (first, second)
    assert state == (2, 2, 2)
