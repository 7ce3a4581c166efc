"""Runnable operational drills (worker kill, server restart, provider outage, rollback)."""
