"""The states and cities a person can pick as places to avoid: those the offline base map draws.

The bundled base layer (`static/basemap/`) names each state and lists the 100 largest US
cities; the pages offer the same places twice, as shapes to click on the map and as a
searchable list (the keyboard's and screen reader's way in), and both fill the form's
plain-text fields, which stay what is posted: "Houston, TX" per line, "TX, LA".
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import NamedTuple

BASEMAP = Path(__file__).resolve().parent / "static" / "basemap"

# USPS codes of the states, DC and territories the base layer draws, by the name it gives them.
STATE_CODES = {
    "Alabama": "AL", "Alaska": "AK", "American Samoa": "AS", "Arizona": "AZ",
    "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Commonwealth of the Northern Mariana Islands": "MP", "Connecticut": "CT",
    "Delaware": "DE", "District of Columbia": "DC", "Florida": "FL", "Georgia": "GA",
    "Guam": "GU", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN",
    "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME",
    "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Puerto Rico": "PR", "Rhode Island": "RI",
    "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
    "United States Virgin Islands": "VI", "Utah": "UT", "Vermont": "VT", "Virginia": "VA",
    "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}


class PlaceChoice(NamedTuple):
    """One entry of the searchable list: what is shown, and what it adds to the form."""

    label: str
    kind: str  # "state" or "city"
    value: str  # "TX" for a state, "Houston, TX" for a city


@cache
def choices() -> tuple[PlaceChoice, ...]:
    """States by name, then the base map's cities, each once (largest first in the file)."""
    states = [PlaceChoice(f"{name} ({code})", "state", code)
              for name, code in sorted(STATE_CODES.items())]
    cities: dict[str, PlaceChoice] = {}
    for city in json.loads((BASEMAP / "us-cities.json").read_text()):
        value = f"{city['name']}, {city['state']}"
        cities.setdefault(value, PlaceChoice(value, "city", value))
    return (*states, *sorted(cities.values()))
