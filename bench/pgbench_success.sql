-- The all-success shape's hold, statement for statement as the app sends it since issue 21, run
-- by pgbench straight against PostgreSQL: the database's ceiling for a successful hold (no HTTP,
-- no Python). One transaction per hold: the first read (event, slot, game, template, venue, the
-- owner's child and address, the waiting list, the child's live seat), the one statement that
-- claims the seat and inserts the booking and its item (nibog/booking/fastpath/one_statement.py),
-- the e-mail's notification row (with its bounce check), the two outbox rows (the e-mail and
-- the seat-count refresh), COMMIT.
-- Variables (pgbench -D): slot_lo and nslots (a fresh event of 100 slots x 50 seats), child_lo,
-- user_lo, nkids, event_id, seq (a sequence restarted for this run). The n-th transaction takes
-- slot n % nslots and child n % nkids: 5000 transactions fill the 5000 seats exactly.
SELECT nextval(CAST(:seq AS regclass)) AS n \gset
\set k :n % :nkids
\set uid :user_lo + :k
\set cid :child_lo + :k
\set slot :slot_lo + (:n % :nslots)
BEGIN;
SELECT events.id, events.title, events.event_date, events.start_time, events.end_time, events.status,
       events.registration_opens_at, events.registration_closes_at, venues.id AS id_1, venues.name,
       game_slots.id AS id_2, game_slots.event_game_id, game_slots.start_time AS start_time_1,
       game_slots.end_time AS end_time_1, game_slots.capacity, game_slots.booked_count,
       game_slots.price, game_slots.is_open, event_games.id AS id_3, event_games.event_id,
       event_games.game_template_id, event_games.price AS price_1, event_games.min_age_months,
       event_games.max_age_months, game_templates.id AS id_4, game_templates.name AS name_1,
       game_templates.default_price, game_templates.min_age_months AS min_age_months_1,
       game_templates.max_age_months AS max_age_months_1, children.id AS id_5, children.user_id,
       children.full_name, children.date_of_birth, users.email,
       EXISTS (SELECT * FROM waiting_list WHERE waiting_list.slot_id = game_slots.id
               AND waiting_list.status = 'waiting'::VARCHAR) AS queued,
       (SELECT booking_items.booking_id FROM booking_items WHERE booking_items.is_live IS true
        AND booking_items.child_id = children.id AND booking_items.slot_id = game_slots.id
        LIMIT 1::INTEGER) AS holder
FROM events JOIN event_games ON event_games.event_id = events.id
JOIN game_slots ON game_slots.event_game_id = event_games.id
JOIN game_templates ON game_templates.id = event_games.game_template_id
LEFT OUTER JOIN venues ON venues.id = events.venue_id
LEFT OUTER JOIN children ON children.id IN (:cid) AND children.user_id = :uid::INTEGER
     AND children.deleted_at IS NULL
LEFT OUTER JOIN users ON users.id = children.user_id
WHERE events.id = :event_id::INTEGER AND game_slots.id IN (:slot);
WITH claimed AS (
  UPDATE game_slots SET booked_count = (game_slots.booked_count + 1), updated_at = now()
  WHERE game_slots.id = :slot AND game_slots.booked_count + 1 <= game_slots.capacity
    AND game_slots.is_open IS true
  RETURNING game_slots.id, game_slots.event_game_id, game_slots.start_time, game_slots.end_time,
            game_slots.capacity, game_slots.booked_count, game_slots.price, game_slots.is_open,
            game_slots.created_at, game_slots.updated_at),
booking AS (
  INSERT INTO bookings (booking_number, user_id, event_id, status, source, guest_name, guest_email,
                        guest_phone, subtotal, discount, total, promo_code_id, payment_mode,
                        hold_expires_at, confirmed_at, created_by_id)
  SELECT CAST('PGS-' || CAST(:event_id AS text) || '-' || CAST(:n AS text) AS VARCHAR(20)), CAST(:uid AS INTEGER),
         CAST(:event_id AS INTEGER), CAST('pending_payment' AS VARCHAR(20)), CAST('app' AS VARCHAR(12)),
         CAST(NULL AS VARCHAR(120)), CAST(NULL AS VARCHAR(254)), CAST(NULL AS VARCHAR(20)),
         CAST(79900 AS BIGINT), CAST(0 AS BIGINT), CAST(79900 AS BIGINT), CAST(NULL AS INTEGER),
         CAST('online' AS VARCHAR(10)), CAST(now() + interval '15 minutes' AS TIMESTAMP WITH TIME ZONE),
         CAST(NULL AS TIMESTAMP WITH TIME ZONE), CAST(NULL AS INTEGER)
  FROM claimed ON CONFLICT (booking_number) DO NOTHING RETURNING *),
item AS (
  INSERT INTO booking_items (booking_id, child_id, slot_id, price)
  SELECT booking.id, CAST(:cid AS INTEGER), CAST(:slot AS INTEGER), CAST(79900 AS BIGINT)
  FROM booking RETURNING *)
SELECT coalesce(booking.id, 0) AS booking_id, claimed, booking, item
FROM claimed LEFT OUTER JOIN booking ON true LEFT OUTER JOIN item ON true \gset
\if :booking_id
INSERT INTO notifications (channel, template, recipient, user_id, booking_id, status, error)
SELECT 'email'::VARCHAR, 'booking_held', 'bench-parent@bench.nibog.in', CAST(:uid AS INTEGER), CAST(:booking_id AS INTEGER),
       CASE WHEN (EXISTS (SELECT email_suppressions.id FROM email_suppressions
                          WHERE email_suppressions.email = 'bench-parent@bench.nibog.in'::VARCHAR))
            THEN 'suppressed'::VARCHAR ELSE 'queued'::VARCHAR END,
       CASE WHEN (EXISTS (SELECT email_suppressions.id FROM email_suppressions
                          WHERE email_suppressions.email = 'bench-parent@bench.nibog.in'::VARCHAR))
            THEN 'address bounced'::VARCHAR END
RETURNING id AS notification_id \gset
-- Written as already relayed (the app's rows are marked so after the commit, or relayed by the
-- worker): the bench's RQ worker must not pick these up.
INSERT INTO job_outbox (queue, func, args, kwargs, retries, request_id, relayed_at)
VALUES ('notifications', 'nibog.notifications.service.deliver',
        jsonb_build_array(CAST(:notification_id AS INTEGER), jsonb_build_object(
          'booking_id', CAST(:booking_id AS INTEGER), 'booking_number', 'PGS-' || CAST(:n AS text),
          'status', 'pending_payment', 'total', 79900, 'currency', 'INR',
          'event_id', CAST(:event_id AS INTEGER), 'hold_expires_at', now()::text)),
        NULL, 5, 'pgbench', now()),
       ('default', 'nibog.booking.tasks.seats_changed', jsonb_build_array(CAST(:event_id AS INTEGER)), NULL, 3,
        'pgbench', now());
\endif
COMMIT;
