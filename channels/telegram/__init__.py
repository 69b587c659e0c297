"""The Telegram channel: python-telegram-bot inside our event loop, a translator to helpdesk/app."""
