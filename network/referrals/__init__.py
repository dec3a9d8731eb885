"""Referrals: a case sent to a directory provider carrying only what active releases cover."""
