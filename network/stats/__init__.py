"""Published statistics: counts by period, state and type, small-cell suppression, charts."""
