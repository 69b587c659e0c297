"""The quarantine: inbound input that could not become a ticket, and its administration."""
