"""Probes: counting the place-and-radius shapes of searches, and refusing a caller who probes."""
