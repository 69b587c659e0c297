"""Channel adapters (email, Telegram): translators between the outside world and helpdesk.app."""
