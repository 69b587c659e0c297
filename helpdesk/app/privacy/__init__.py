"""Personal data (RGPD): export, erasure, retention."""
