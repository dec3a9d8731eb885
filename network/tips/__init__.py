"""Tips: reports taken by the hotline and routed to the jurisdictions they touch."""
