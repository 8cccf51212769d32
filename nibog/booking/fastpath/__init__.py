"""The measured shortcuts of the booking path, behind one seam.

Each answers what the locked path (``nibog.booking.holds`` under ``nibog.core.locking``) would
answer, only sooner, and each is kept because ``make bench`` shows it pays:

- ``gate``: a WSGI gate that refuses ``POST /api/bookings`` for a slot Redis marks full before
  Flask runs (most requests of a sales burst);
- ``full_marks``: the Redis "slot full" marks, written and deleted under the slot's row lock;
- ``first_read``: one statement reading the event, slots, children, queue and holders;
- ``claim``: one conditional UPDATE that claims a one-slot request's seats;
- ``one_statement``: the usual one-seat hold (claim, booking, item) in one statement.
"""
