"""Independent checker of a placement plan: capacity, whole households, eligibility, exclusions.

This module deliberately shares no code path with the solver for the checks that matter most:
capacity sums, one-place-per-household, exclusion zones (own great-circle formula), maximum
travel and the objective are recomputed here from the raw inputs. Eligibility is re-derived from
the scalar rules of `solvers.matching.eligibility` (the solver uses their vectorised twins). A plan
is
valid when `validate_plan` returns an empty list; each violation names the household, the
shelter and what is wrong, so a failing test or an audit reads like a sentence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from solvers.matching.eligibility import bed_needs, failed_rules
from solvers.matching.types import (
    Assignment,
    Household,
    MatchWeights,
    Objective,
    ShelterOption,
    Unplaced,
)

_R = 6_371_008.0


@dataclass(frozen=True)
class Violation:
    code: str
    case_ref: str
    shelter_id: str
    detail: str


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Spherical law of cosines: a different formula from the solver's haversine on purpose.
    p1, p2 = math.radians(lat1), math.radians(lat2)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(
        math.radians(lon2 - lon1)
    )
    return _R * math.acos(max(-1.0, min(1.0, c)))


def _excluded_why(h: Household, s: ShelterOption) -> list[str]:
    why = []
    ex = h.exclusions
    if s.shelter_id in ex.shelter_ids:
        why.append("named shelter")
    if s.state.strip().upper() in {x.strip().upper() for x in ex.states}:
        why.append(f"state {s.state}")
    for c in ex.cities:
        name, _, st = c.partition(",") if "," in c else (c, "", "")
        same_name = name.strip().lower() == s.city.strip().lower()
        if same_name and (not st or st.strip().upper() == s.state.strip().upper()):
            why.append(f"city {c}")
    for p in ex.points:
        # 1 m tolerance covers the difference between the two distance formulas; a safe
        # house may be anywhere within its uncertainty of the point the solver saw.
        if _metres(p.lat, p.lon, s.lat, s.lon) <= p.radius_m + s.location_uncertainty_m + 1.0:
            why.append(f"within {p.radius_m} m of an avoided point")
    return why


def priority(h: Household, w: MatchWeights) -> int:
    return sum(h.urgency + (w.minor_bonus if m.age < 18 else 0) for m in h.members)


def preference_points(h: Household, s: ShelterOption, w: MatchWeights) -> int:
    langs = {x.lower() for x in s.languages}
    lang = any(x.lower() in langs for x in h.languages)
    t, spec = h.trafficking_type, s.trafficking_specialisation
    special = t != "none" and (spec == "both" or spec == t)
    fresh = s.count_age_minutes <= w.fresh_max_age_minutes
    return w.language * lang + w.specialisation * special + w.fresh * fresh


def recompute_objective(
    households: Sequence[Household],
    shelters: Sequence[ShelterOption],
    assignments: Sequence[Assignment],
    weights: MatchWeights,
) -> Objective:
    """The objective of a plan computed from scratch (unknown references are skipped)."""
    hs = {h.case_ref: h for h in households}
    ss = {s.shelter_id: s for s in shelters}
    wp = travel = pref = persons = n = 0
    for a in assignments:
        h, s = hs.get(a.case_ref), ss.get(a.shelter_id)
        if h is None or s is None:
            continue
        n += 1
        persons += len(h.members)
        wp += priority(h, weights)
        travel += a.distance_m
        pref += preference_points(h, s, weights)
    return Objective(wp, travel, pref, persons, n)


def validate_plan(
    households: Sequence[Household],
    shelters: Sequence[ShelterOption],
    assignments: Sequence[Assignment],
    unplaced: Sequence[Unplaced] | None = None,
    weights: MatchWeights | None = None,
    claimed: Objective | None = None,
) -> list[Violation]:
    """Every way the plan breaks the rules; empty when it is valid."""
    w = weights or MatchWeights()
    hs = {h.case_ref: h for h in households}
    ss = {s.shelter_id: s for s in shelters}
    out: list[Violation] = []
    seen = Counter(a.case_ref for a in assignments)
    for ref, k in sorted(seen.items()):
        if k > 1:
            out.append(Violation("household_split", ref, "", f"assigned {k} times"))
    if unplaced is not None:
        listed = Counter(u.case_ref for u in unplaced)
        for ref in sorted(hs):
            total = seen.get(ref, 0) + listed.get(ref, 0)
            if total != 1:
                out.append(Violation("household_unaccounted", ref, "", f"appears {total} times"))
    used: Counter[tuple[str, str]] = Counter()
    for a in assignments:
        h, s = hs.get(a.case_ref), ss.get(a.shelter_id)
        if h is None or s is None:
            out.append(Violation("unknown_reference", a.case_ref, a.shelter_id, "not in input"))
            continue
        used[(a.shelter_id, a.bed_type)] += a.beds
        needs = {n.bed_type: n.count for n in bed_needs(h, s)}
        if a.bed_type not in needs:
            out.append(Violation("wrong_bed_type", a.case_ref, a.shelter_id, a.bed_type))
        elif needs[a.bed_type] != a.beds:
            detail = f"{a.beds} {a.bed_type} given, {needs[a.bed_type]} needed"
            out.append(Violation("wrong_bed_count", a.case_ref, a.shelter_id, detail))
        for why in _excluded_why(h, s):
            out.append(Violation("inside_exclusion", a.case_ref, a.shelter_id, why))
        d = _metres(h.lat, h.lon, s.lat, s.lon)
        if d > h.max_travel_km * 1000 + 1.0:
            out.append(Violation("too_far", a.case_ref, a.shelter_id, f"{d:.0f} m"))
        if abs(d - a.distance_m) > 2.0:
            detail = f"reported {a.distance_m} m, actual {d:.0f} m"
            out.append(Violation("wrong_distance", a.case_ref, a.shelter_id, detail))
        # Capacity rules are checked below on the plan as a whole, not pair by pair.
        for code in failed_rules(h, s):
            if code not in {"no_fitting_bed_type", "not_enough_beds"}:
                out.append(Violation("ineligible", a.case_ref, a.shelter_id, code))
        minors = [m for m in h.members if m.age < 18]
        if minors and len(minors) == len(h.members):
            if "youth_12_17" not in s.populations or a.bed_type != "youth":
                out.append(Violation("minor_not_in_youth", a.case_ref, a.shelter_id, a.bed_type))
    for (sid, bed_type), n in sorted(used.items()):
        s = ss[sid]
        if n > s.available.get(bed_type, 0):
            detail = f"{n} {bed_type} used, {s.available.get(bed_type, 0)} available"
            out.append(Violation("over_capacity", "", sid, detail))
    if claimed is not None:
        real = recompute_objective(households, shelters, assignments, w)
        if real != claimed:
            out.append(Violation("wrong_objective", "", "", f"claimed {claimed}, real {real}"))
    return out
