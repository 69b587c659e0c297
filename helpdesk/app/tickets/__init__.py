"""Tickets as staff work them: the queue, the ticket page, replies and changes, merge and split, canned answers."""
