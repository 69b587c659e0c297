"""Intake: every inbound message becomes a ticket through one door; the hooks that run in its transaction."""
