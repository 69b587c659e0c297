"""Chat (Telegram) use cases: conversation state, intake and change hooks, linking a chat to an email address."""
