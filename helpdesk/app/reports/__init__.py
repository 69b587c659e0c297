"""Figures for staff: reports, and what waits for their attention."""
