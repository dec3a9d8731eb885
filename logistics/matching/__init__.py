"""Matching: stored or inline cases ranked against, or placed into, the registry's open beds."""
