"""The partner network: the provider and law-enforcement directory, consent releases, referrals.

A domain package beside `logistics`: it reads cases through `logistics.cases.service` (every
read audited there), keeps its own tables, and never imports the web layer. Tip routing and
published statistics live here too, in their own modules (`network/tips*`, `network/stats*`).
"""
