"""Parents' reviews of events they took part in, and their moderation."""
