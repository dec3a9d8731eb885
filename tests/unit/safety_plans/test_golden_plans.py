"""Golden plans for canonical situations, in English and Spanish.

They pin the step ids, their order and the key wording rather than a whole-file dump, so a
reworded sentence fails one clear assertion instead of a wall of diff.
"""

from __future__ import annotations

import pytest

from safety_plans.planning import Plan, generate_plan
from safety_plans.render import localize, to_json
from safety_plans.rules import EMERGENCY_CONTACT_IDS
from safety_plans.screening import DangerLevel

from .cases import (
    DANGER_INPUTS,
    IMMEDIATE_DANGER,
    LABOR_INPUTS,
    LABOR_PASSPORT,
    MINOR,
    MONITORED_INPUTS,
    MONITORED_PHONE,
    MOTHER,
    MOTHER_INPUTS,
)

CONTACTS = list(EMERGENCY_CONTACT_IDS)
GO_BAG = ["gobag.intro", "gobag.documents", "gobag.medicine", "gobag.phone", "gobag.money"]
GO_BAG += ["gobag.clothes"]


def texts(plan: Plan, language: str) -> dict[str, str]:
    return {s.id: s.text for s in localize(plan, language).steps}


@pytest.mark.parametrize("language", ["en", "es"])
def test_labor_trafficking_survivor_whose_passport_the_employer_holds(language: str) -> None:
    plan = generate_plan(LABOR_PASSPORT, LABOR_INPUTS, language=language)
    assert (plan.emergency, plan.danger_level, plan.score) == (False, DangerLevel.HIGH, 7)
    assert list(plan.step_ids) == [
        *CONTACTS,
        "leaving.when",
        "leaving.secret",
        "leaving.on_foot",
        "leaving.shelters",
        "leaving.shelter.casa-esperanza",
        "leaving.shelter.harbor-house",
        "leaving.after",
        "staying.exits",
        "staying.record",
        "tech.basic",
        "documents.held",
        "documents.passport",
        "documents.us_id",
        "documents.copies",
        "money.debt",
        "money.free_help",
        "money.wages",
        "money.cash",
        "contacts.people",
        "contacts.code_word",
        *GO_BAG,
        "legal.referral",
        "legal.t_visa",
        "legal.continued_presence",
        "home.route",
        "home.consulate",
    ]
    assert plan.step("documents.held").triggered_by == ("documents_held",)  # type: ignore[union-attr]
    t = texts(plan, language)
    # The link stays with the advocate (step params); the survivor's copy says what to expect.
    assert "https://" not in t["home.route"]
    assert plan.step("home.route").params["url"] == "https://homeward.example/trips/abc123"  # type: ignore[union-attr]
    assert "559-555-0101" in t["leaving.shelter.casa-esperanza"]
    if language == "en":
        assert t["documents.passport"].startswith("To replace a passport, contact your country's")
        assert "T visa" in t["legal.t_visa"]
        assert "Continued Presence" in t["legal.continued_presence"]
        assert "Distance: 4.2 km" in t["leaving.shelter.casa-esperanza"]
        assert "Distance" not in t["leaving.shelter.harbor-house"]
    else:
        assert t["documents.passport"].startswith("Para reponer un pasaporte")
        assert "visa T" in t["legal.t_visa"]
        assert "Presencia Continuada" in t["legal.continued_presence"]
        assert "Camas disponibles: 3" in t["leaving.shelter.casa-esperanza"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_sixteen_year_old_in_commercial_sex(language: str) -> None:
    plan = generate_plan(MINOR, language=language)
    assert not plan.emergency
    assert plan.danger_level is DangerLevel.HIGH
    assert list(plan.step_ids[:5]) == [*CONTACTS, "immediate.medical", "immediate.minor"]
    assert plan.step("immediate.minor").triggered_by == ("minor_in_commercial_sex", "age")  # type: ignore[union-attr]
    assert {"leaving.ask_shelter", "staying.safe_room", "tech.memorise"} <= set(plan.step_ids)
    assert "documents.held" not in plan.step_ids
    minor_text = texts(plan, language)["immediate.minor"]
    assert "1-888-373-7888" in minor_text and "233733" in minor_text
    expected = "under 18" if language == "en" else "menos de 18 años"
    assert expected in minor_text
    assert ("not your fault" if language == "en" else "No es su culpa") in minor_text


@pytest.mark.parametrize("language", ["en", "es"])
def test_mother_with_two_children_ranks_children_then_money(language: str) -> None:
    plan = generate_plan(MOTHER, MOTHER_INPUTS, language=language)
    assert not plan.emergency and plan.danger_level is DangerLevel.ELEVATED
    assert list(plan.step_ids[:8]) == [
        "children.plan",
        "children.documents",
        "children.school",
        "money.free_help",
        "money.cash",
        *CONTACTS,
    ]
    assert "gobag.children" in plan.step_ids and "leaving.transport" in plan.step_ids
    assert [str(sec) for sec, _ in plan.sections()][:3] == ["children", "money", "immediate_safety"]
    t = texts(plan, language)
    assert "sunflower" in t["contacts.code_word"]
    assert ("children" if language == "en" else "hijos") in t["children.plan"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_monitored_phone(language: str) -> None:
    plan = generate_plan(MONITORED_PHONE, MONITORED_INPUTS, language=language)
    assert list(plan.step_ids[:6]) == [
        "tech.monitored_phone",
        "tech.location",
        "tech.history",
        "tech.memorise",
        "tech.accounts",
        "tech.basic",
    ]
    assert plan.step("tech.history").triggered_by == ("phone_monitored", "has_safe_phone")  # type: ignore[union-attr]
    t = texts(plan, language)
    assert "1-888-373-7888" in t["tech.memorise"]
    assert ("prepaid" if language == "en" else "prepagado") in t["tech.monitored_phone"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_immediate_danger_puts_emergency_contacts_first(language: str) -> None:
    plan = generate_plan(IMMEDIATE_DANGER, DANGER_INPUTS, language=language)
    assert plan.emergency and plan.danger_level is DangerLevel.SEVERE
    assert plan.emergency_triggers == ("weapon_threat", "threatened_to_kill")
    assert list(plan.step_ids[:6]) == [
        *CONTACTS,
        "immediate.emergency_now",
        "money.free_help",
        "leaving.unknown_place",
    ]
    t = texts(plan, language)
    assert t["immediate.call_911"] == (
        "If you are in immediate danger, call 911."
        if language == "en"
        else "Si está en peligro inmediato, llame al 911."
    )
    hotline = "National Human Trafficking Hotline" if language == "en" else "Línea Directa Nacional"
    assert (
        hotline in t["immediate.call_hotline"] and "1-888-373-7888" in t["immediate.call_hotline"]
    )
    assert "233733" in t["immediate.text_hotline"]
    data = to_json(plan)
    assert data["language"] == language and data["emergency"] is True
    assert [s["id"] for s in data["sections"][0]["steps"][:3]] == CONTACTS
