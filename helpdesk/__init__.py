"""CRAIG open-data helpdesk: tickets from email and Telegram, FAQ suggestions, staff queue, SLA."""
