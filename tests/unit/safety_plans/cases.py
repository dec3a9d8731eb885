"""Canonical survivor situations shared by the golden-plan and rendering tests."""

from __future__ import annotations

from safety_plans.planning import PlanInputs, SuggestedShelter
from safety_plans.rules import Section

SHELTERS = (
    SuggestedShelter(
        id="casa-esperanza",
        name="Casa Esperanza",
        address="12 Elm St, Fresno, CA",
        phone="559-555-0101",
        open_beds=3,
        distance_km=4.25,
    ),
    SuggestedShelter(
        id="harbor-house",
        name="Harbor House",
        address="9 Bay Rd, Fresno, CA",
        phone="559-555-0199",
        open_beds=1,
    ),
)
TRAVEL_URL = "https://homeward.example/trips/abc123"

LABOR_PASSPORT = {
    "documents_held": True,
    "debt_bondage": True,
    "wages_withheld": True,
    "movement_restricted": True,
    "lives_with_trafficker": True,
    "can_leave_on_foot": True,
    "has_safe_phone": True,
    "money": "none",
    "needs_shelter": True,
    "needs_legal_immigration": True,
    "wants_to_return_home": True,
    "age": 34,
    "children_count": 0,
}
LABOR_INPUTS = PlanInputs(shelters=SHELTERS, travel_planner_url=TRAVEL_URL)

MINOR = {
    "minor_in_commercial_sex": True,
    "age": 16,
    "movement_restricted": True,
    "controls_daily_life": True,
    "physically_harmed": True,
    "has_safe_phone": False,
    "needs_shelter": True,
    "needs_medical": True,
}

MOTHER = {
    "children_count": 2,
    "threats_to_family": True,
    "lives_with_trafficker": True,
    "has_transport": False,
    "money": "some",
    "needs_shelter": True,
}
MOTHER_INPUTS = PlanInputs(priorities=(Section.CHILDREN, Section.MONEY), code_word="sunflower")

MONITORED_PHONE = {"phone_monitored": True, "has_safe_phone": False, "controls_daily_life": True}
MONITORED_INPUTS = PlanInputs(priorities=(Section.TECHNOLOGY,))

IMMEDIATE_DANGER = {
    "threatened_to_kill": True,
    "weapon_threat": True,
    "trafficker_knows_location": True,
    "lives_with_trafficker": True,
    "needs_shelter": True,
}
# Ranking money first must not displace the emergency contacts in emergency mode.
DANGER_INPUTS = PlanInputs(shelters=SHELTERS[:1], priorities=(Section.MONEY,))
