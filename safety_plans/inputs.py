"""A plan's inputs from the rest of Homeward: shelters with open beds, and the way home.

When a plan is made for a stored case (or an advocate refreshes it), the case is ranked by
the matcher's own single-household use case (`logistics.matching.service.rank_in_session`, in
the caller's transaction, so the case read and the match are audited as matching) and the top
options become `PlanInputs.shelters`: name, free beds of the bed type offered, distance as the
matcher shows it to everyone (a safe house's from its public cell point, rounded to 5 km), the
street address of an ordinary shelter, but for a confidential one only its city and state, and
the intake phone (the hotline's number when the registry has none). The matcher answers alike
whoever asks, so a plan made by an admin holds nothing its other readers may not see. A case
the matcher cannot place (a city with no known point) simply gets no shelter steps. The way
home links to the case's travel plans, `<base>/v1/travel-plans?case_id=<id>`, when the
survivor wants to go home.
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue
from sqlalchemy import select
from sqlmodel import Session, col

from core.crypto import FieldCipher
from core.errors import InvalidInput
from core.principal import Principal
from logistics.matching import service as matching_service
from logistics.shelters.models import Shelter
from safety_plans.planning import PlanInputs, parse_inputs
from safety_plans.rules import HOTLINE_PHONE
from safety_plans.screening import Screening

TRAVEL_PATH = "/v1/travel-plans?case_id={case_id}"


def matched_shelters(session: Session, *, actor: Principal, cipher: FieldCipher,
                     case_id: int, limit: int) -> list[dict[str, JsonValue]]:
    """The case's best `limit` shelters with open beds, as plan shelter options."""
    if limit <= 0:
        return []
    try:
        found = matching_service.rank_in_session(session, actor=actor, cipher=cipher,
                                                 case_id=case_id, limit=limit)
    except InvalidInput:
        # The case has no point the matcher can use (or names a shelter that is gone): the
        # plan then asks the advocate to find a place instead of listing one.
        return []
    options = found.response.options
    ids = [o.shelter_id for o in options]
    phones: dict[int, str | None] = dict(session.execute(
        select(col(Shelter.id), col(Shelter.intake_phone))
        .where(col(Shelter.id).in_(ids))).tuples().all()) if ids else {}
    shelters: list[dict[str, JsonValue]] = []
    for o in options:
        place = f"{o.city}, {o.state}"
        if not o.confidential and o.street_address:
            place = f"{o.street_address}, {place}"
        shelters.append({
            "id": str(o.shelter_id), "name": o.shelter_name, "address": place,
            "phone": phones.get(o.shelter_id) or HOTLINE_PHONE,
            "open_beds": found.open_beds[o.shelter_id], "distance_km": o.distance_km})
    return shelters


def travel_link(base_url: str | None, case_id: int, screening: Screening) -> str | None:
    """The case's travel plans, for a survivor who wants to go home (None otherwise)."""
    if base_url is None or not screening.yes("wants_to_return_home"):
        return None
    return base_url.rstrip("/") + TRAVEL_PATH.format(case_id=case_id)


def plan_inputs(session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int,
                screening: Screening, priorities: list[str], code_word: str | None,
                shelters: list[dict[str, JsonValue]] | None, shelter_limit: int,
                travel_planner_url: str | None, base_url: str | None,
                gender: str | None = None) -> PlanInputs:
    """Validated inputs: the caller's, with shelters and the travel link filled in if omitted."""
    if shelters is None:
        shelters = matched_shelters(session, actor=actor, cipher=cipher, case_id=case_id,
                                    limit=shelter_limit)
    raw: dict[str, Any] = {
        "shelters": shelters, "priorities": priorities, "code_word": code_word,
        "travel_planner_url": travel_planner_url or travel_link(base_url, case_id, screening),
        "gender": gender}
    return parse_inputs(raw)
