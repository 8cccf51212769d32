"""What `make mutate` mutates, and which tests may kill each module's mutants.

Each entry: the files mutmut mutates and the tests it runs for them. mutmut first runs the
selection once to learn which test calls which function, then runs only those tests per mutant
(`-x`: the first failure kills it), so a wider selection costs one slower first pass, not slower
mutants. Keep each selection to the folders that exercise the module: the whole suite would
take hours per module on a small machine.
"""

MODULES: dict[str, tuple[list[str], list[str]]] = {
    "auth/otp": (
        ["nibog/auth/otp.py"],
        # The race file: only its double sign-in with one code (at the `otp_checked` pause)
        # notices a code matched twice but used once.
        ["tests/auth/test_phone_otp.py", "tests/auth/test_rate_limits.py",
         "tests/concurrency/test_sign_in_races.py"],
    ),
    "booking/holds": (
        ["nibog/booking/holds.py"],
        # Booking, confirming after expiry, cancelling and expiring (seats, stock, duplicates),
        # the waiting list's owed seats and the seat and stock races.
        ["tests/booking/test_create.py", "tests/booking/test_full_marks.py",
         "tests/booking/test_full_slot_gate.py", "tests/booking/test_lifecycle.py",
         "tests/booking/test_rules.py", "tests/booking/test_guest.py",
         "tests/booking/test_mutants_holds.py", "tests/waitlist/test_waitlist_engine.py",
         "tests/concurrency/test_seat_races.py",
         "tests/concurrency/test_promo_and_stock_races.py", "tests/jobs/test_booking_engine.py"],
    ),
    "booking/claim": (
        ["nibog/booking/fastpath/claim.py", "nibog/core/locking.py"],
        # The booking paths that claim seats or lock rows, and the races whose controls switch
        # each guard off (only they notice a lock that is not taken).
        ["tests/booking/test_create.py", "tests/booking/test_full_marks.py",
         "tests/booking/test_full_slot_gate.py", "tests/booking/test_guest.py",
         "tests/booking/test_lifecycle.py",
         "tests/concurrency/test_seat_races.py", "tests/concurrency/test_lock_timeout.py",
         "tests/concurrency/test_guest_races.py", "tests/concurrency/test_lifecycle_races.py",
         "tests/concurrency/test_promo_and_stock_races.py", "tests/payments/test_race.py"],
    ),
    "booking/idempotency": (
        ["nibog/booking/idempotency.py"],
        ["tests/booking", "tests/payments/test_create_confirm.py"],
    ),
    "payments/refunds": (
        ["nibog/payments/refunds.py"],
        # Staff and cancellation refunds, the gateways' refund calls and webhooks, the sweep.
        ["tests/payments/test_refunds.py", "tests/payments/test_mutants_refunds.py",
         "tests/payments/test_razorpay.py", "tests/payments/test_phonepe.py",
         "tests/payments/test_phonepe_v2.py", "tests/payments/test_webhooks.py",
         "tests/payments/test_reconcile.py", "tests/payments/test_race.py",
         "tests/booking/test_lifecycle.py"],
    ),
    "core/boundary": (
        ["nibog/core/boundary.py"],
        ["tests/core/test_boundary.py", "tests/jobs/test_outbox.py", "tests/booking/test_create.py"],
    ),
    "booking/service": (
        ["nibog/booking/service.py"],
        ["tests/booking", "tests/concurrency/test_seat_races.py"],
    ),
    # The waiting list's seat rules (offer rounds, expiry, the jobs) and its queue, split so
    # each runs well under an hour; its views (api.py, admin.py) are not in the core.
    "waitlist/offers": (
        ["nibog/waitlist/offers.py", "nibog/waitlist/tasks.py"],
        ["tests/waitlist", "tests/booking/test_lifecycle.py"],
    ),
    "waitlist/entries": (
        ["nibog/waitlist/entries.py"],
        ["tests/waitlist", "tests/booking/test_lifecycle.py"],
    ),
    "payments/service": (
        ["nibog/payments/service.py", "nibog/payments/statements.py"],
        ["tests/payments"],
    ),
}

# mutmut counts a mutant as timed out (killed) after (its tests' measured time + 30 s) x this,
# wall clock; 10 unless named here. A module whose code waits in a loop (the idempotency retry
# polls every 50 ms until its deadline) has mutants that loop forever: at 10 each of them held a
# job for 400 s or more, and nine of them kept a full run over an hour (6 Dec). 3 still leaves a
# mutant's session three times the time its tests took in the stats run plus 90 s - two mutants
# at once on two cores take at most about twice it - and `run.py` prints how many mutants
# timed out, so a limit that cuts honest runs short would show.
TIMEOUT_MULTIPLIER: dict[str, int] = {"booking/idempotency": 3}
