"""Travel: GTFS feeds, places, itinerary search, travel plans with check-ins, and budgets."""
