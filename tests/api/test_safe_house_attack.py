"""The bisection attack of issue 13, replayed: all it can recover of a safe house is its cell.

An ordinary advocate binary-searches a radius from three anchor points around a shelter,
watching whether the shelter is in the answer, then trilaterates the three boundary radii.
Three ways to ask: the radius of an exclusion zone in `POST /v1/matches`, `radius_km` of
`GET /v1/shelters`, and the travel limit of `POST /v1/matches` (whole kilometres, so the
attacker fixes it at 5 km and bisects the survivor's position along three rays instead,
finding three points of a circle around the shelter). Against an
ordinary shelter (the control, so this harness can fail) the attack finds the point to within
metres. Against a safe house it runs in two worlds whose exact points sit at opposite corners
of the same cell, ~7 km apart: every answer, and so the estimate, is the same in both, so it
cannot be within 2 km of where the house really is in both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from solvers.geo import haversine_m
from tests.safe_house_worlds import PUBLIC_POINTS, SAFE_CELLS, World, inside_cell, two_worlds

ANCHOR_OFFSETS = ((0.09, 0.0), (-0.05, 0.09), (-0.05, -0.09))  # degrees: ~10 km around
STEPS = 16  # 40 km / 2**16: the boundary to within a metre
TRAVEL_KM = 5
CORNERS = ((0.45, 0.45), (-0.45, -0.45))
Point = tuple[float, float]


def _present(world: World, shelter_id: int, vector: str, anchor: Point, target: Point,
             r_km: float) -> tuple[bool, bytes]:
    """Is the shelter in the answer when the attacker asks with radius `r_km` at `anchor`?"""
    who = world.advocate.headers
    if vector == "search":
        response = world.client.get("/v1/shelters", headers=who, params={
            "near": f"{anchor[0]},{anchor[1]}", "radius_km": r_km, "limit": 100})
        assert response.status_code == 200, response.text
        ids = {hit["shelter"]["id"] for hit in response.json()["items"]}
        return shelter_id in ids, response.content
    case = {"case_ref": "probe", "household": [{"age": 30, "gender": "female"}],
            "languages": ["en"], "trafficking_type": "labor", "has_photo_id": True,
            "urgency": 3, "exclusions": {"points": [], "cities": [], "states": [],
                                         "shelter_ids": []}}
    if vector == "travel":  # `anchor` is where the survivor is said to be
        case |= {"location": {"lat": anchor[0], "lon": anchor[1]},
                 "max_travel_km": TRAVEL_KM}
    else:  # an exclusion zone of `r_km` around the anchor; the survivor is near the shelter
        case |= {"location": {"lat": target[0] + 0.2, "lon": target[1]},
                 "max_travel_km": 200}
        case["exclusions"]["points"] = [{"lat": anchor[0], "lon": anchor[1],
                                         "radius_km": r_km}]
    response = world.client.post("/v1/matches", json={"case": case, "limit": 10},
                                 headers=who)
    assert response.status_code == 200, response.text
    ids = {o["shelter_id"] for o in response.json()["options"]}
    return shelter_id in ids, response.content


def _boundary(present: Callable[[float], bool], present_below: bool,
              hi: float = 40.0) -> float:
    """Where the answer flips, to within (hi / 2**STEPS); `present_below`: shown below it."""
    lo = 0.0
    for _ in range(STEPS):
        mid = (lo + hi) / 2
        if present(mid) != present_below:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def _plane(origin: Point) -> tuple[float, float]:
    """Metres per degree of longitude and latitude near `origin` (a local flat map)."""
    return 111_195.0 * math.cos(math.radians(origin[0])), 111_195.0


def _circumcentre(points: list[Point]) -> Point:
    """The centre of the circle through three points: where the shelter must be."""
    (lat0, lon0), (kx, ky) = points[0], _plane(points[0])
    xy = [((lo - lon0) * kx, (la - lat0) * ky) for la, lo in points]
    rows = [[2 * (xy[i][0] - xy[0][0]), 2 * (xy[i][1] - xy[0][1])] for i in (1, 2)]
    rhs = [xy[i][0] ** 2 - xy[0][0] ** 2 + xy[i][1] ** 2 - xy[0][1] ** 2 for i in (1, 2)]
    x, y = np.linalg.solve(np.array(rows), np.array(rhs))
    return lat0 + float(y) / ky, lon0 + float(x) / kx


def _trilaterate(anchors: list[Point], radii_km: list[float]) -> Point:
    """Least squares in a local plane: the point at those distances from the anchors."""
    (lat0, lon0), (kx, ky) = anchors[0], _plane(anchors[0])
    xy = [((lo - lon0) * kx, (la - lat0) * ky) for la, lo in anchors]
    r = [k * 1000 for k in radii_km]
    rows = [[2 * (xy[i][0] - xy[0][0]), 2 * (xy[i][1] - xy[0][1])] for i in (1, 2)]
    rhs = [r[0] ** 2 - r[i] ** 2 + xy[i][0] ** 2 - xy[0][0] ** 2 + xy[i][1] ** 2
           - xy[0][1] ** 2 for i in (1, 2)]
    x, y = np.linalg.solve(np.array(rows), np.array(rhs))
    return lat0 + float(y) / ky, lon0 + float(x) / kx


def _attack(world: World, shelter_id: int, vector: str,
            target: Point) -> tuple[Point, list[bytes]]:
    transcript: list[bytes] = []

    def asks(anchor: Point, r_km: float) -> bool:
        found, raw = _present(world, shelter_id, vector, anchor, target, r_km)
        transcript.append(raw)
        return found

    if vector == "travel":
        # Walk out from the shelter's public point along each ray until it drops out of reach.
        edge = []
        for dlat, dlon in ANCHOR_OFFSETS:
            norm = math.hypot(dlat, dlon)

            def along(t: float, dlat: float = dlat / norm, dlon: float = dlon / norm) -> Point:
                return target[0] + t * dlat, target[1] + t * dlon

            t = _boundary(lambda t, along=along: asks(along(t), 0), True, hi=0.5)
            edge.append(along(t))
        return _circumcentre(edge), transcript
    anchors = [(target[0] + a, target[1] + b) for a, b in ANCHOR_OFFSETS]
    # An exclusion zone hides the shelter once it reaches it; a search radius shows it.
    radii = [_boundary(lambda r, a=a: asks(a, r), vector == "exclusion") for a in anchors]
    return _trilaterate(anchors, radii), transcript


@pytest.mark.parametrize("vector", ["exclusion", "travel", "search"])
def test_the_bisection_attack_recovers_only_the_cell(
        new_database_url: Callable[[], str], tmp_path: Path, vector: str) -> None:
    with two_worlds(new_database_url, tmp_path) as worlds:
        exact = [inside_cell(SAFE_CELLS[0], corner) for corner in CORNERS]
        for world, point in zip(worlds, exact, strict=True):
            world.place([point, *(inside_cell(c, (0.0, 0.0)) for c in SAFE_CELLS[1:])])
        assert haversine_m(*exact[0], *exact[1]) > 6_000

        # The control: an ordinary shelter's point is public, and the attack finds it.
        control, _ = _attack(worlds[0], worlds[0].public_ids[0], vector, PUBLIC_POINTS[0])
        assert haversine_m(*control, *PUBLIC_POINTS[0]) < 10

        found = [_attack(w, w.safe_ids[0], vector, SAFE_CELLS[0]) for w in worlds]
        (first, seen_first), (second, seen_second) = found
        assert seen_first == seen_second  # every answer the attacker saw, byte for byte
        assert first == second
        assert max(haversine_m(*first, *exact[0]), haversine_m(*first, *exact[1])) > 2_000
