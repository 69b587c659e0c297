"""Satisfaction ratings: the request sent after resolution and the recorded answer."""
