"""Published data a message names: the look-up job and the ticket sidebar."""
