"""Check-in at the venue: QR codes and access codes, attendance, the event day's progress."""
