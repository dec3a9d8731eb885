"""Plain frozen values shared by the transit solver: network, query and result types.

The transit engine sees a transport network as stops, carriers (with their fare and age rules),
trip instances (one per service day) and elementary connections between consecutive stops of a
trip, all times in absolute UTC epoch minutes. A query says who travels, from where to where,
when, and under which safety constraints; a result is a tuple of itineraries plus human-readable
reasons. These types carry no behaviour beyond validation, so the GTFS reader, the synthetic
benchmark network and the HTTP layer can all build them without importing search code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from solvers.errors import TransitInputError


class Mode(StrEnum):
    RAIL = "rail"
    BUS = "bus"
    AIR = "air"
    DRIVER = "volunteer_driver"
    TAXI = "taxi"
    WALK = "walk"


class StationType(StrEnum):
    INDOOR = "indoor_waiting_room"
    SHELTERED = "sheltered_platform"
    BARE = "bare_platform"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Stop:
    stop_id: str
    name: str
    lat: float
    lon: float
    tz: str
    city: str = ""
    state: str = ""
    station_type: StationType = StationType.UNKNOWN
    # GTFS wheelchair_boarding: 0 unknown, 1 accessible, 2 not accessible.
    wheelchair: int = 0
    min_transfer_minutes: int = 0
    # GTFS transfers.txt type 3 on this stop to itself: no change of trip here. One may still
    # stay seated, start or end the journey here, or walk a footpath away after alighting.
    no_transfer: bool = False


@dataclass(frozen=True, slots=True)
class Carrier:
    """A carrier (GTFS agency + mode) with its fare model and unaccompanied-minor rules."""

    carrier_id: str
    name: str
    mode: Mode
    tz: str = "UTC"
    needs_photo_id: bool = False
    fare_base_cents: int = 0
    fare_cents_per_100km: int = 0
    child_max_age: int = 12
    child_fare_percent: int = 50
    infant_max_age: int = 1
    # From this age a traveller goes alone with no conditions.
    adult_alone_age: int = 16
    # Youngest age to travel alone; between it and adult_alone_age the conditions apply.
    min_age_alone: int = 13
    alone_no_transfers: bool = True
    alone_daytime_only: bool = True
    alone_max_minutes: int = 420

    def fare_cents(self, distance_m: int, age: int) -> int:
        adult = self.fare_base_cents + self.fare_cents_per_100km * distance_m // 100_000
        if age <= self.infant_max_age:
            return 0
        if age <= self.child_max_age:
            return adult * self.child_fare_percent // 100
        return adult


@dataclass(frozen=True, slots=True)
class Trip:
    """One trip instance on one service day."""

    trip_id: str
    carrier: int
    route_name: str = ""
    headsign: str = ""
    service_date: str = ""
    # GTFS wheelchair_accessible: 0 unknown, 1 yes, 2 no.
    wheelchair: int = 0


@dataclass(frozen=True, slots=True)
class Connection:
    """Elementary hop of a trip between consecutive stops, times in UTC epoch minutes."""

    trip: int
    seq: int
    from_stop: int
    to_stop: int
    dep: int
    arr: int
    pickup: bool = True
    dropoff: bool = True


@dataclass(frozen=True, slots=True)
class Footpath:
    from_stop: int
    to_stop: int
    minutes: int


@dataclass(frozen=True, slots=True)
class Network:
    stops: tuple[Stop, ...]
    carriers: tuple[Carrier, ...]
    # A tuple, or an expansion's `ExpandedTrips` (each Trip made when it is read).
    trips: Sequence[Trip]
    connections: tuple[Connection, ...]
    footpaths: tuple[Footpath, ...] = ()


@dataclass(frozen=True, slots=True)
class Place:
    lat: float
    lon: float
    name: str = ""


@dataclass(frozen=True, slots=True)
class AvoidPoint:
    lat: float
    lon: float
    radius_m: int


@dataclass(frozen=True, slots=True)
class Avoid:
    cities: tuple[tuple[str, str], ...] = ()
    states: tuple[str, ...] = ()
    points: tuple[AvoidPoint, ...] = ()


@dataclass(frozen=True, slots=True)
class UnscheduledService:
    """A door-to-stop service (volunteer driver, taxi): duration from a road-distance estimate."""

    mode: Mode
    name: str
    max_distance_m: int
    speed_kmh: int = 60
    road_factor_percent: int = 130
    base_cents: int = 0
    cents_per_km: int = 0
    opens_minute: int = 0
    closes_minute: int = 1440


DEFAULT_TAXI = UnscheduledService(
    Mode.TAXI, "taxi", max_distance_m=40_000, speed_kmh=40, base_cents=300, cents_per_km=150
)
DEFAULT_DRIVER = UnscheduledService(
    Mode.DRIVER, "volunteer driver", max_distance_m=400_000, speed_kmh=80,
    cents_per_km=20, opens_minute=7 * 60, closes_minute=21 * 60,
)


@dataclass(frozen=True, slots=True)
class TripQuery:
    origin: Place
    destination: Place
    depart_after: int
    arrive_by: int | None = None
    traveller_ages: tuple[int, ...] = (30,)
    has_photo_id: bool = True
    escort_available: bool = False
    budget_cents: int | None = None
    avoid: Avoid = Avoid()
    max_transfers: int = 3
    max_overnight_layovers: int = 1
    min_transfer_minutes: int = 10
    accessible: bool = False
    allow_outdoor_overnight: bool = False
    walk_radius_m: int = 1_000
    taxi: UnscheduledService = DEFAULT_TAXI
    driver: UnscheduledService = DEFAULT_DRIVER
    # Trips of up to seven days: the timetable expands service days d-1 .. d+7 (calendar.py).
    max_hours: int = 168

    def validate(self) -> None:
        if not self.traveller_ages:
            raise TransitInputError("traveller_ages", "at least one traveller is required")
        for age in self.traveller_ages:
            if not 0 <= age <= 120:
                raise TransitInputError("traveller_ages", f"age {age} is not between 0 and 120")
        if self.arrive_by is not None and self.arrive_by <= self.depart_after:
            raise TransitInputError("arrive_by", "arrive_by must be after depart_after")
        if self.budget_cents is not None and self.budget_cents < 0:
            raise TransitInputError("budget_cents", "budget must not be negative")
        if self.max_transfers < 0:
            raise TransitInputError("max_transfers", "must not be negative")
        if self.max_overnight_layovers < 0:
            raise TransitInputError("max_overnight_layovers", "must not be negative")
        if self.min_transfer_minutes < 0:
            raise TransitInputError("min_transfer_minutes", "must not be negative")
        for name, place in (("origin", self.origin), ("destination", self.destination)):
            if not (-90 <= place.lat <= 90 and -180 <= place.lon <= 180):
                raise TransitInputError(name, "latitude/longitude out of range")
        for point in self.avoid.points:
            if point.radius_m < 0:
                raise TransitInputError("avoid.points", "radius must not be negative")


@dataclass(frozen=True, slots=True)
class Leg:
    mode: Mode
    carrier: str
    route: str
    trip_id: str
    from_stop: str
    from_name: str
    to_stop: str
    to_name: str
    depart: int
    arrive: int
    depart_local: str
    arrive_local: str
    fare_cents: int
    distance_m: int
    # Wait before this leg at its departure point; 0 for the first leg.
    layover_minutes: int
    # Whether that layover point has an indoor waiting room (None when there is no layover).
    indoor_waiting: bool | None
    overnight_layover: bool


@dataclass(frozen=True, slots=True)
class Itinerary:
    depart: int
    arrive: int
    depart_local: str
    arrive_local: str
    cost_cents: int
    transfers: int
    overnight_layovers: int
    escorted: bool
    legs: tuple[Leg, ...]


@dataclass(frozen=True, slots=True)
class SearchResult:
    itineraries: tuple[Itinerary, ...]
    reasons: tuple[str, ...]
