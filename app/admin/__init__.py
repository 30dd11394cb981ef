"""Admin console: background jobs and the email outbox (users, settings, audit come later)."""
