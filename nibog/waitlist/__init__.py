"""Waiting list for full slots, with automatic offers (``entries``: the queue; ``offers``: the
seats it is given; ``tasks``: the jobs; ``api``: the parents' endpoints).

While anyone is waiting, the slot's free seats are the queue's: a booking from anywhere else is
answered ``slot_full`` (details ``waiting_list: true``), so a seat freed in the seconds before
the offer round runs cannot go to whoever asks first (``holds.reject_owed_to_waiting_list``).
"""

from nibog.waitlist.entries import (  # noqa: F401 - the package's public names
    ACTIVE,
    check_eligible,
    describe_entries,
    entries_for_user,
    entry_for_user,
    join,
    leave,
    positions,
    queued_for,
    skip_reasons,
)
from nibog.waitlist.offers import (  # noqa: F401
    close_stale_entries,
    expire_offers,
    offer_seats,
    stranded_slots,
)
