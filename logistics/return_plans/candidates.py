"""Candidate generation for joint return planning: beds near each destination, trips there.

For each stored case: the destination (a point, or a city resolved as the itinerary search
does) becomes the centre of a matching query of `radius_km`, so batch matching's eligibility
rules and the case's exclusions (conservative for safe houses) pick the beds; intake "open
now" is ignored there because the planner checks intake at the arrival time instead. The
itineraries are the Pareto set of the search from where the household is to the destination
(the case's exclusion zones avoided, its ages, photo ID and the escort flag applied), each
vouched with an itinerary id for this account. The local hand-over from the destination to a
shelter is matching's travel-time estimate. `solvers.return_plan.candidates` then keeps the
best `shelters_per_case` shelters and a few itineraries, and reports whether anything was
left out (for the widening certificate). Reads only; the case reads are audited by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.errors import InvalidInput
from logistics.cases.models import CaseData, Location
from logistics.matching.households import to_household
from logistics.matching.index import load_index
from logistics.matching.models import MatchCase
from logistics.matching.service import shown_distance
from logistics.return_plans import intake
from logistics.return_plans.models import ReturnCaseChoice, ReturnOptions
from logistics.shelters.models import Shelter
from logistics.travel import search as transport_search
from logistics.travel.feed_models import (
    AvoidPlaces,
    ItineraryFound,
    ItinerarySearchRequest,
    Traveller,
)
from logistics.travel.places import resolve_city
from logistics.travel.timetables import TimetableStore
from logistics.travel.vouch import ItineraryIds, vouch
from solvers.matching import rank_for_household
from solvers.return_plan import BedPool, ExclusionZone, ReturnCase, TripOption
from solvers.return_plan.candidates import NearBed, Pool, build_options

MAX_NEAR = 60  # beds ranked per destination; more than any `shelters_per_case`


@dataclass(frozen=True)
class Found:
    """One case's candidates: its solver view, the vouched itineraries by id, whether the
    pools were cut short, and the bed pools it saw."""

    case: ReturnCase
    itineraries: dict[str, ItineraryFound]
    left_out: bool
    pools: dict[tuple[str, str], BedPool]
    names: dict[int, str]
    search: ItinerarySearchRequest


def _minute(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) // 60


def destination(session: Session, place: Location, field: str) -> tuple[float, float]:
    if place.lat is not None and place.lon is not None:
        return place.lat, place.lon
    assert place.city is not None and place.state is not None
    found = resolve_city(session, place.city, place.state)
    if found is None:
        raise InvalidInput(field, "unknown place: no stop, and no US place of 15,000 people "
                                  "of that name in that state")
    return found.lat, found.lon


def _pools(session: Session, ranked_ids: list[int], free: dict[tuple[str, str], int],
           uncertainty: dict[str, int], coords: dict[str, tuple[float, float]], now: datetime,
           late: set[int]) -> tuple[dict[tuple[str, str], BedPool], dict[int, str]]:
    rows = session.exec(select(Shelter).where(col(Shelter.id).in_(ranked_ids))).all()
    by_id = {r.id: r for r in rows}
    pools = {}
    for (sid, bed_type), n in free.items():
        s = by_id[int(sid)]
        until = now + timedelta(minutes=s.max_hold_minutes)
        lat, lon = coords[sid]
        pools[(sid, bed_type)] = BedPool(
            sid, bed_type, n, s.state, lat, lon, int(until.timestamp()) // 60,
            intake.windows(s.intake_hours, s.timezone, now, until), s.id in late,
            uncertainty[sid])
    return pools, {i: r.name for i, r in by_id.items() if i is not None}


def for_case(session: Session, *, data: CaseData, request: ReturnCaseChoice, index: int,
             account_id: int, ids: ItineraryIds, timetables: TimetableStore,
             depart_after: datetime, now: datetime, options: ReturnOptions) -> Found:
    prefix = f"cases.{index}."
    lat, lon = destination(session, request.destination, f"{prefix}destination")
    public = data.public().model_dump(mode="json", include=set(MatchCase.model_fields))
    public |= {"location": {"lat": lat, "lon": lon}, "max_travel_km": request.radius_km}
    household = to_household(session, MatchCase.model_validate(public), prefix)
    snapshot = load_index(session, household=household)
    # Intake is checked at the arrival instant by the planner, not "open now".
    snapshot.index.arr.flags["intake_open_now"][:] = True
    ranked = rank_for_household(household, snapshot.index, limit=MAX_NEAR,
                                strict_exclusion_ids=False)
    # A safe house's hand-over is timed from its distance rounded to 5 km, as matching shows
    # it: an arrival time to the minute would measure the distance to the house.
    near = tuple(NearBed(o.shelter_id, o.bed_type, o.beds,
                         shown_distance(o.distance_m, o.travel_minutes, o.confidential)[1],
                         3 * o.language_match + 2 * o.specialisation_match + o.fresh)
                 for o in ranked.options)
    if len(data.household) > 12:
        raise InvalidInput(f"{prefix}case_id", "at most 12 travellers per itinerary search")
    body = ItinerarySearchRequest.model_validate({
        "from": data.location.model_dump(exclude_none=True),
        "to": {"lat": lat, "lon": lon}, "depart_after": depart_after,
        "travellers": [Traveller(age=m.age) for m in data.household],
        "has_id": data.has_photo_id, "escort": request.escort,
        "avoid": AvoidPlaces(points=list(data.exclusions.points))})
    found, _reasons = transport_search.find(session, body, timetables)
    vouched = vouch(ids, account_id=account_id, search=body, itineraries=found, now=now)
    trips = tuple(TripOption(f"i{k}", _minute(it.depart), _minute(it.arrive), it.cost_cents)
                  for k, it in enumerate(vouched))
    options_, left_out = build_options(Pool(near, trips), k=options.shelters_per_case,
                                       per_shelter=options.itineraries_per_shelter)
    notes = () if options_ else (("no_eligible_shelter_near_destination",) if not near else
                                 ("no_itinerary_to_destination",))
    used = {(o.shelter_id, o.bed_type) for o in options_}
    free = {(sid, bt): snapshot.option(int(sid)).beds(bt) for sid, bt in used}
    shelters = {sid for sid, _ in used}
    uncertainty = {sid: snapshot.option(int(sid)).location_uncertainty_m for sid in shelters}
    coords = {sid: (snapshot.option(int(sid)).lat, snapshot.option(int(sid)).lon)
              for sid in shelters}
    pools, names = _pools(session, sorted(int(s) for s in shelters), free, uncertainty, coords,
                          now, set(options.late_arrival_shelter_ids))
    ex = data.exclusions
    case = ReturnCase(
        str(data.id), data.urgency, tuple(m.age for m in data.household), options_,
        excluded_shelters=frozenset(str(i) for i in ex.shelter_ids),
        excluded_states=frozenset(ex.states),
        zones=tuple(ExclusionZone(p.lat, p.lon, round(p.radius_km * 1000)) for p in ex.points),
        notes=notes)
    return Found(case, {f"i{k}": it for k, it in enumerate(vouched)}, left_out, pools, names,
                 body)
