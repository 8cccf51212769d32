"""The job registry: every periodic job, by function (a renamed job fails at import, not at 3 am).

Jobs queued by the code are declared where they live, with ``@job("queue")`` (nibog.core.jobs),
and queued with ``func.delay(ids...)``; this list says which of them the worker's scheduler runs
on its own, and how often.
"""

from __future__ import annotations

from nibog.admin import all_time
from nibog.admin import tasks as admin
from nibog.booking import tasks as booking
from nibog.core import housekeeping, outbox
from nibog.core.periodic import PeriodicJob
from nibog.notifications import tasks as notifications
from nibog.ops import retention
from nibog.payments import tasks as payments
from nibog.waitlist import tasks as waitlist

PERIODIC_JOBS: list[PeriodicJob] = [
    # Jobs whose after-commit push met a Redis outage (nothing a parent must receive is lost).
    PeriodicJob(outbox.relay_outbox, 60),
    PeriodicJob(outbox.purge_relayed_outbox, 24 * 3600),
    # Reminder the day before the event, once per booking (the job is idempotent; hourly is enough).
    PeriodicJob(notifications.send_event_reminders, 3600, "notifications"),
    # Expired idempotency keys (and OTPs when the auth module keeps them in the database).
    PeriodicJob(housekeeping.purge_expired, 3600),
    # Unpaid booking holds past their deadline free their seats (BOOKING_HOLD_SECONDS is 15 min).
    PeriodicJob(booking.expire_holds, 30),
    # Unclaimed waiting-list offers expire and their seats are offered to the next family.
    PeriodicJob(waitlist.expire_waitlist_offers, 60),
    # Live bookings left in a cancelled event (they committed just after its cancellation).
    PeriodicJob(booking.cancel_bookings_of_cancelled_events, 300),
    # Payments left `created` past STUCK_PAYMENT_MINUTES are settled against the gateway's status API.
    PeriodicJob(payments.reconcile_stuck_payments, 300, "payments"),
    # Retention (nibog.ops.retention): old message logs, guests who never came back.
    PeriodicJob(retention.purge_old_notifications, 24 * 3600),
    PeriodicJob(retention.purge_abandoned_guests, 24 * 3600),
    # The dashboard's all-time charts, kept fresher than ADMIN_STATS_CACHE_SECONDS (60 s) so no
    # page view computes them (about 0.3 s of SQL with 100k bookings).
    PeriodicJob(admin.refresh_dashboard_figures, all_time.REFRESH_SECONDS),
]
