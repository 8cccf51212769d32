-- The booking transaction's SQL, run by pgbench straight against PostgreSQL: the database's
-- ceiling for the burst (no HTTP, no Python). Same shape as one POST /api/bookings for one child:
-- lock the slot row, take a seat only while one is left, insert the booking and its item.
-- Variables (pgbench -D): slot_lo, slot_hi (a fresh event's 10 slots), child_lo, user_lo, nkids,
-- event_id. Each transaction takes the next number of a sequence, so every attempt is a distinct
-- child, as in the HTTP burst (one live seat per child per slot is a unique index).
\set slot random(:slot_lo, :slot_hi)
SELECT nextval('bench_pgbench_seq') AS n \gset
\set k :n % :nkids
\set uid :user_lo + :k
\set cid :child_lo + :k
BEGIN;
SELECT capacity, booked_count, price FROM game_slots WHERE id = :slot FOR UPDATE;
WITH took AS (
  UPDATE game_slots SET booked_count = booked_count + 1, updated_at = now()
  WHERE id = :slot AND booked_count < capacity RETURNING id
) SELECT count(*) AS took FROM took \gset
\if :took
INSERT INTO bookings (booking_number, user_id, event_id, status, source, subtotal, discount,
                      total, hold_expires_at)
VALUES ('PGB-' || CAST(:n AS text), :uid, :event_id, 'pending_payment', 'app', 79900, 0, 79900,
        now() + interval '15 minutes')
RETURNING id AS booking_id \gset
INSERT INTO booking_items (booking_id, child_id, slot_id, price)
VALUES (:booking_id, :cid, :slot, 79900);
\endif
COMMIT;
