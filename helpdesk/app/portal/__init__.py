"""The requester portal (/espace): sign-in by emailed link, the requester's tickets, replies, close, reopen, rating."""
