"""Service levels: policies and calendars, the figures on tickets, their administration, the escalation job."""
