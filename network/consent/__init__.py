"""Consent: a survivor's written, time-limited releases to share named parts of a case."""
