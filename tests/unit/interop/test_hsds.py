"""HSDS mapping without a database: the real Open Referral examples in, equivalent HSDS out.

The HSDS 3.0 spec examples use placeholder geography that no US registry can hold (latitude
100, state "MyState", postcode "ABC 1234"); the importer names each of those fields. With only
those three placeholders replaced (and HSDS 3.1 `capacities` added, which 3.0 examples lack),
importing then exporting gives back equivalent organization, service, location, capacity,
language and schedule content.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from logistics.interop import hsds
from logistics.interop.hic import HicShelter, hic_rows, render_csv
from logistics.vocabulary import BedType, Population
from tests.support import needs_shared_data

EXAMPLES = Path(__file__).resolve().parents[4] / "shared" / "data" / "openreferral_hsds_examples"
SPEC = EXAMPLES / "hsds3_spec_examples"
UPDATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

pytestmark = needs_shared_data(SPEC)


def load(name: str) -> Any:
    return json.loads((SPEC / name).read_text())


CAPACITIES = [
    {"id": "c1", "unit": {"id": "u1", "name": "beds"}, "maximum": 12, "available": 5,
     "updated": "2024-05-01T12:00:00.000Z"},
    {"id": "c2", "unit": {"id": "u2", "name": "family units"}, "maximum": 4, "available": 4,
     "updated": "2024-05-01T12:00:00.000Z"},
]


def real_places(node: Any) -> Any:
    """A copy with only the impossible placeholders (lat 100, MyState, ABC 1234) made real."""
    if isinstance(node, list):
        return [real_places(x) for x in node]
    if not isinstance(node, dict):
        return node
    node = {k: real_places(v) for k, v in node.items()}
    if "latitude" in node:
        node["latitude"], node["longitude"] = 40.7128, -74.0060
    if "state_province" in node:
        node["state_province"], node["postal_code"] = "NY", "10007"
    return node


def us_geography(service: dict[str, Any]) -> dict[str, Any]:
    """The spec example with real US geography, plus HSDS 3.1 capacities."""
    return {**real_places(service), "capacities": copy.deepcopy(CAPACITIES)}


def to_out(item: hsds.ImportedShelter, *, shelter_id: int = 1) -> hsds.ExportedShelter:
    """What the registry would hand the exporter after storing this import."""
    d = item.data
    return hsds.ExportedShelter(
        id=shelter_id, name=d.name, agency_id=7, agency_name=item.organization_name,
        confidential=d.confidential_location, lat=d.lat, lon=d.lon,
        street_address=d.street_address, city=d.city, state=d.state, county=d.county,
        zip_code=d.zip_code, timezone=d.timezone, populations=list(d.populations),
        specialisation=d.specialisation.value, languages=d.languages, accessible=d.accessible,
        pets=d.pets, children_max_age=d.children_max_age, max_stay_days=d.max_stay_days,
        intake_hours=({k: [list(w) for w in v] for k, v in d.intake_hours.windows.items()}
                      if d.intake_hours else None),
        requires_photo_id=d.requires_photo_id, requires_referral=d.requires_referral,
        requires_sobriety=d.requires_sobriety, intake_phone=d.intake_phone,
        capacities=[hsds.ExportedCapacity(b.bed_type, b.total, b.total - b.occupied,
                                     b.max_household, UPDATED) for b in d.beds])


def hhmm(text: str) -> str:
    return text[:5]


def essence(service: dict[str, Any]) -> dict[str, Any]:
    """The content Homeward maps, in a comparable form (ids and unmapped fields left out)."""
    location = service["service_at_locations"][0]["location"]
    address = location["addresses"][0]
    days: dict[tuple[str, str], set[str]] = {}
    for s in service.get("schedules", []):
        days.setdefault((hhmm(s["opens_at"]), hhmm(s["closes_at"])), set()).update(
            s["byday"].split(","))
    return {
        "organization": service["organization"]["name"],
        "service": {"name": service["name"], "status": service["status"]},
        "location": {"latitude": location.get("latitude"),
                     "longitude": location.get("longitude"),
                     **{k: address.get(k) for k in ("address_1", "address_2", "city",
                                                    "state_province", "postal_code",
                                                    "region", "country")},
                     "accessible": bool(location.get("accessibility"))},
        "capacities": sorted((c["unit"]["name"], c["maximum"], c["available"])
                             for c in service.get("capacities", [])),
        "languages": sorted(x["code"] for x in service.get("languages", [])),
        "schedules": {k: sorted(v) for k, v in days.items()},
        "phones": [p["number"] for p in service.get("phones", [])][:1],
    }


def test_spec_example_placeholders_are_named() -> None:
    with pytest.raises(hsds.InvalidHsds) as caught:
        hsds.parse_dataset(load("service_full.json"))
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {
        "service_at_locations[0].location.latitude",
        "service_at_locations[0].location.addresses[0].state_province",
        "service_at_locations[0].location.addresses[0].postal_code",
    }


@pytest.mark.parametrize("name", ["service_full.json", "organization_full.json",
                                  "service_at_location_full.json"])
def test_round_trip_on_the_spec_examples(name: str) -> None:
    document = real_places(load(name))
    assert len(hsds.parse_dataset(document).shelters) == len(hsds.service_records(document))
    originals = [{**service, "capacities": copy.deepcopy(CAPACITIES)}
                 for _path, service in hsds.service_records(document)]
    result = hsds.parse_dataset(originals)
    assert len(result.shelters) == len(originals) >= 1
    for original, item in zip(originals, result.shelters, strict=True):
        exported = hsds.shelter_to_hsds(to_out(item))
        assert essence(exported) == essence(original)
        # ...and importing the export again changes nothing Homeward stores.
        assert hsds.parse_dataset(exported).shelters[0].data == item.data


@pytest.mark.parametrize(("name", "missing"), [
    ("service_list.json", "service_at_locations"),
    ("service_at_location_list.json", "service_at_locations[0].location.addresses")])
def test_list_summaries_lack_what_a_shelter_needs(name: str, missing: str) -> None:
    document = real_places(load(name))
    with pytest.raises(hsds.InvalidHsds) as caught:
        hsds.parse_dataset(document)
    assert {e["field"] for e in caught.value.errors} == {
        f"contents[{i}].{missing}" for i in range(len(document["contents"]))}


def test_spec_schedule_and_languages_map_to_intake_hours() -> None:
    item = hsds.parse_dataset(us_geography(load("service_full.json"))).shelters[0]
    assert item.data.intake_hours is not None
    assert item.data.intake_hours.windows == {"thu": [("10:00", "18:00")],
                                              "fri": [("10:00", "18:00")]}
    assert item.data.languages == ["ur"]
    assert item.data.street_address == "1-30 Main Street\nMyVillage"
    assert item.data.timezone == "America/New_York"
    beds = {b.bed_type: (b.total, b.occupied) for b in item.data.beds}
    assert beds == {BedType.ADULT_ANY: (12, 7), BedType.FAMILY_UNIT: (4, 0)}


def test_homeward_attributes_round_trip() -> None:
    item = hsds.parse_dataset(us_geography(load("service_full.json"))).shelters[0]
    out = to_out(item)
    richer = hsds.ExportedShelter(**{
        **out.__dict__, "populations": [Population.ADULT_WOMEN, Population.YOUTH_12_17],
        "specialisation": "labor", "pets": True, "children_max_age": 12,
        "max_stay_days": 90, "requires_referral": True, "timezone": "America/Chicago",
        "intake_hours": None,
        "capacities": [hsds.ExportedCapacity(BedType.FAMILY_UNIT, 4, 3, 6, UPDATED)]})
    back = hsds.parse_dataset(hsds.shelter_to_hsds(richer)).shelters[0].data
    assert back.populations == [Population.ADULT_WOMEN, Population.YOUTH_12_17]
    assert (back.specialisation, back.pets, back.children_max_age, back.max_stay_days) == (
        "labor", True, 12, 90)
    assert back.requires_referral and not back.requires_sobriety
    assert back.timezone == "America/Chicago"
    assert back.intake_hours is None  # 24/7 survives as a 7-day 00:00-23:59 rule
    assert [(b.bed_type, b.total, b.occupied, b.max_household) for b in back.beds] == [
        (BedType.FAMILY_UNIT, 4, 1, 6)]


def test_a_number_attribute_that_is_not_a_whole_number_names_the_attributes() -> None:
    item = hsds.parse_dataset(us_geography(load("service_full.json"))).shelters[0]
    exported = hsds.shelter_to_hsds(hsds.ExportedShelter(**{**to_out(item).__dict__,
                                                       "children_max_age": 12}))
    for attribute in exported["attributes"]:
        if attribute["taxonomy_term"]["code"] == "children_max_age":
            attribute["value"] = "12.5"
    with pytest.raises(hsds.InvalidHsds) as caught:
        hsds.parse_dataset(exported)
    assert [e["field"] for e in caught.value.errors] == ["attributes"]
    assert "12.5" not in json.dumps(caught.value.errors)


def test_available_above_maximum_names_the_field() -> None:
    service = us_geography(load("service_full.json"))
    service["capacities"][1]["available"] = 9
    with pytest.raises(hsds.InvalidHsds) as caught:
        hsds.parse_dataset([service])
    assert caught.value.errors == [{"field": "[0].capacities[1].available",
                                    "message": "available (9) cannot exceed maximum (4)"}]


def test_confidential_export_withholds_the_place() -> None:
    item = hsds.parse_dataset(us_geography(load("service_full.json"))).shelters[0]
    out = hsds.ExportedShelter(**{**to_out(item).__dict__, "confidential": True})
    exported = hsds.shelter_to_hsds(out)
    location = exported["service_at_locations"][0]["location"]
    assert "latitude" not in location and "longitude" not in location
    assert location["addresses"][0]["address_1"] == ""
    assert location["addresses"][0]["postal_code"] == ""
    assert "region" not in location["addresses"][0]
    assert (location["addresses"][0]["city"], location["addresses"][0]["state_province"]) == (
        "MyCity", "NY")
    text = json.dumps(exported)
    assert "Main Street" not in text and "40.7128" not in text and "10007" not in text
    assert any(a["taxonomy_term"]["code"] == "confidential_location" and a["value"] == "true"
               for a in exported["attributes"])


def test_overnight_and_non_weekly_schedules() -> None:
    service = us_geography(load("service_full.json"))
    service["schedules"] = [
        {"id": "a", "freq": "WEEKLY", "byday": "FR", "opens_at": "20:00", "closes_at": "08:00"},
        {"id": "b", "freq": "MONTHLY", "byday": "1MO", "opens_at": "09:00",
         "closes_at": "10:00"},
    ]
    result = hsds.parse_dataset(service)
    hours = result.shelters[0].data.intake_hours
    assert hours is not None
    assert hours.windows == {"fri": [("20:00", "24:00")], "sat": [("00:00", "08:00")]}
    assert any(w["field"] == "schedules[1]" for w in result.warnings)


def test_inactive_services_are_skipped_and_bad_units_named() -> None:
    service = us_geography(load("service_full.json"))
    inactive = {**service, "status": "inactive"}
    service["capacities"][0]["unit"] = {"id": "u", "name": "hours"}
    with pytest.raises(hsds.InvalidHsds) as caught:
        hsds.parse_dataset([inactive, service])
    assert [e["field"] for e in caught.value.errors] == ["[1].capacities[0].unit"]
    result = hsds.parse_dataset([inactive])
    assert result.shelters == [] and result.skipped[0]["field"] == "[0]"


def test_hic_rows_aggregate_and_suppress() -> None:
    open_shelter = HicShelter("DC", "Capital Network", "Harbor House", False,
                              {BedType.ADULT_FEMALE: (20, 2), BedType.YOUTH: (1, 0)})
    safe = [HicShelter("NY", "Org", f"Safe {i}", True, {BedType.ADULT_FEMALE: (5, 1)})
            for i in range(3)]
    lone = HicShelter("VT", "Org", "Lone Safe", True, {BedType.FAMILY_UNIT: (2, 1)})
    rows = hic_rows([open_shelter, *safe, lone])
    assert rows[0][:6] == ["DC", "Capital Network", "Harbor House", "ES", "no", "1"]
    assert rows[0][6:] == ["20", "<3", "0", "21", "<3", "0"]
    assert rows[1][:6] == ["NY", "", "Confidential shelters (aggregated)", "ES", "yes", "3"]
    assert rows[1][6:] == ["15", "0", "0", "15", "3", "0"]
    assert rows[2][0] == "multiple" and rows[2][5:] == ["<3"] + ["suppressed"] * 6
    text = render_csv([open_shelter, *safe, lone])
    assert "Safe 0" not in text and "Lone Safe" not in text and "VT" not in text


def test_hic_csv_defuses_formulas() -> None:
    text = render_csv([HicShelter("DC", "=HYPERLINK()", "+Evil", False, {})])
    assert "'=HYPERLINK()" in text and "'+Evil" in text
