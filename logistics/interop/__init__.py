"""Interoperability: Open Referral HSDS import and export, and the HUD HIC-style inventory CSV."""
