"""Cases: the survivor household a hotline agency works for, its use cases and its purge."""
