"""Back-office operations on bookings: search and detail, manual bookings, moves,
refunds and cash, the dashboard's figures."""
