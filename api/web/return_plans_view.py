"""How a joint return plan reads on its page: shelters as the viewer may see them, local times,
intake hours at the arrival, reasons and the proof in plain words.

A planned case names its shelter; the page says where it is as anyone may see it: a public
shelter's street address as `logistics.shelters.service.present` shows it to every viewer, and
a safe house only by its public grid cell (`public_points`), never its address or point (its
sealed point is not even opened, for its own staff either). Times are local at the shelter
(arrival, hold lapse, intake hours) or at each stop (the itinerary, through
`travel_view.steps`). The solver's reason codes and its bound, gap and widening certificate
become sentences with Spanish msgids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from api.web import travel_view
from core.crypto import FieldCipher
from core.principal import Principal
from logistics.return_plans.models import PlannedCase, ReturnPlanPublic
from logistics.shelters import service as shelters
from logistics.shelters.models import Shelter
from logistics.travel.budget_models import FundingSourcePublic
from logistics.vocabulary import WEEKDAYS

# msgids: why a case could not go home, in the words a case manager would use on the phone
REASONS = {
    "no_candidate": "No shelter near the destination can be reached by any trip that fits.",
    "excluded_shelter": "The shelters that fit are on the case's list of shelters to avoid.",
    "excluded_state": "The shelters that fit are in a state the case avoids.",
    "inside_exclusion_zone": "The shelters that fit are (or may be) inside a zone the case "
                             "avoids.",
    "departs_in_past": "The only trips have already left.",
    "hold_lapses_before_arrival": "A bed cannot be held long enough: the trip arrives after "
                                  "the hold would end.",
    "outside_intake_hours": "The trip arrives outside intake hours and the shelter has no "
                            "late-arrival agreement.",
    "no_eligible_funding": "No funding source may pay for this household.",
    "over_every_budget": "Every trip costs more than what is left in the funding sources.",
    "not_enough_free_beds": "The shelters have fewer free beds than the household needs.",
    "capacity_or_budget_used_by_higher_priority": "The beds or money went to cases with more "
                                                  "priority-weighted persons.",
}
OTHER_REASON = "Another rule left this case out ({code})."
DAYS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
        "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
SOLVE_STATES = {"optimal": "proven optimal", "feasible": "good, not proven optimal"}


@dataclass(frozen=True)
class ShelterView:
    """What the page may say about a planned shelter."""

    name: str
    city: str
    state: str
    timezone: str
    address: str | None
    cell: tuple[float, float] | None  # a safe house's public grid cell centre
    cell_deg: float | None
    intake: dict[str, list[tuple[str, str]]] | None


def shelter_views(session: Session, *, actor: Principal, cipher: FieldCipher,
                  ids: list[int]) -> dict[int, ShelterView]:
    rows = session.exec(select(Shelter).where(col(Shelter.id).in_(sorted(set(ids))))).all()
    points = shelters.public_points(session, ids)
    out = {}
    for row in rows:
        assert row.id is not None
        point = points.get(row.id)
        if row.confidential_location:
            # A safe house: never its address nor its sealed point (not even opened here, for
            # its own staff), only the public cell every viewer's map draws.
            address = None
            cell = None if point is None else (round(point.lat, 3), round(point.lon, 3))
        else:
            address = shelters.present(session, actor=actor, cipher=cipher,
                                       shelter=row).street_address
            cell = None
        out[row.id] = ShelterView(
            name=row.name, city=row.city, state=row.state, timezone=row.timezone,
            address=address, cell=cell,
            cell_deg=None if cell is None or point is None else point.cell_deg,
            intake=None if not row.intake_hours else {
                day: [(a, b) for a, b in spans] for day, spans in row.intake_hours.items()})
    return out


def at_shelter(moment: datetime, timezone: str) -> dict[str, str]:
    """A stored instant as the shelter's local clock reads it."""
    tz = travel_view.zone(timezone)
    return travel_view.clock((moment if tz is None else moment.astimezone(tz)).isoformat())


def intake_at(arrival: datetime, shelter: ShelterView) -> dict[str, Any]:
    """The intake windows of the arrival's weekday at the shelter, and whether it falls in one."""
    if shelter.intake is None:
        return {"always": True, "day": "", "windows": [], "inside": True}
    tz = travel_view.zone(shelter.timezone)
    local = arrival if tz is None else arrival.astimezone(tz)
    day = WEEKDAYS[local.weekday()]
    windows = [(a, b) for a, b in shelter.intake.get(day, [])]
    clock = local.strftime("%H:%M")
    return {"always": False, "day": DAYS[day], "windows": windows,
            "inside": any(a <= clock <= b for a, b in windows)}


def reasons(codes: list[str]) -> list[tuple[str, dict[str, str]]]:
    """(msgid, parameters) of each reason a case was left out."""
    return [(REASONS[c], {}) if c in REASONS else (OTHER_REASON, {"code": c}) for c in codes]


def proof(plan: ReturnPlanPublic) -> list[tuple[str, dict[str, object]]]:
    """The bound, gap and widening certificate as sentences (msgid, parameters)."""
    o = plan.objective
    out: list[tuple[str, dict[str, object]]] = [
        ("{households} households ({persons} people) go home: {weighted} priority-weighted "
         "persons.", {"households": o.households, "persons": o.persons,
                      "weighted": o.weighted_persons})]
    if plan.gap <= 0:
        out.append(("No plan can bring home more priority-weighted persons from these "
                    "candidates (proven bound {bound}).", {"bound": plan.bound}))
    else:
        out.append(("The best plan from these candidates might bring home up to {bound} "
                    "priority-weighted persons: a gap of {gap}%.",
                    {"bound": plan.bound, "gap": round(plan.gap * 100, 1)}))
    cert = plan.certificate
    if cert.certified:
        out.append(("Certificate: looking at more shelters or more trips cannot do better; "
                    "every shelter and trip that could help was considered.", {}))
    else:
        out.append(("Certificate: {n} cases had shelters or trips left out of the model; a "
                    "wider search might bring home up to {bound} priority-weighted persons "
                    "(gap {gap}%).", {"n": cert.cases_left_out, "bound": cert.widened_bound,
                                      "gap": round(cert.widening_gap * 100, 1)}))
    return out


def funding_names(sources: list[FundingSourcePublic]) -> dict[int, str]:
    return {s.id: s.name for s in sources}


def rows(plan: ReturnPlanPublic, views: dict[int, ShelterView]) -> list[dict[str, Any]]:
    """Per planned case: the shelter, local arrival and hold lapse, intake, steps, timeline."""
    out = []
    for p in plan.planned:
        view = views.get(p.shelter_id)
        out.append({"p": p, "shelter": view, "steps": travel_view.steps(p.itinerary),
                    "timeline": travel_view.timelines([p.itinerary])[0],
                    "arrive": at_shelter(p.arrive_at_shelter, view.timezone if view else ""),
                    "until": at_shelter(p.hold_until, view.timezone if view else ""),
                    "margin": _minutes(p.hold_until, p.arrive_at_shelter),
                    "intake": None if view is None else intake_at(p.arrive_at_shelter, view),
                    "accepted": p.case_id in plan.accepted_case_ids})
    return out


def _minutes(later: datetime, earlier: datetime) -> int:
    return int((later - earlier).total_seconds() // 60)


def accepted_pending(plan: ReturnPlanPublic) -> list[PlannedCase]:
    return [p for p in plan.planned if p.case_id not in plan.accepted_case_ids]
