"""The email channel: SMTP/LMTP listener, parsing, loop detection, outbound composition and sending."""
