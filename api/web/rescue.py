"""Mass rescue: many households at once, placed by the batch matcher, shown as table and map.

Households come as CSV (typed, pasted or read from a file; columns in `forms.CSV_COLUMNS`,
a template at `/web/rescue/template.csv`): each row may name a zone to keep that household
away from (`exclude_lat,exclude_lon,exclude_radius_km`), and the form's raid site is a zone
kept away from by all of them; the matcher never places a household inside one. Every bad
row is listed by its line number.
"Find placements" runs the same batch use case as `POST /v1/matches/batch` without holding;
"Place all holds" runs it again with holds, all in one transaction or none, within the
agency's mass-rescue budget (a refusal is shown as it is answered, nothing held); households
an earlier "Place all holds" held keep their holds. The CSV travels
back in the results page's form, so nothing is kept on the server between the two steps.
The map draws shelters whose location may be shown (never a safe house's point) from our
own copy of Leaflet; map tiles are optional (`HOMEWARD_WEB_MAP_TILES_URL`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Services, ServicesDep
from api.errors import STATUS_BY_KIND
from api.web import forms, wording
from api.web.common import IdentityDep, PostDep, render, require
from core.errors import DomainError
from core.models import Role
from core.principal import Principal
from logistics.matching import service as matching_service
from logistics.matching.models import (
    BatchMatchOptions,
    BatchMatchRequest,
    BatchMatchResult,
    MatchCase,
)
from logistics.shelters import service as shelters

router = APIRouter(prefix="/web/rescue", include_in_schema=False)
MAX_UPLOAD_BYTES = 512_000
EXAMPLE = (",".join(forms.CSV_COLUMNS) + "\n"
           "R-001,28F,38.90,-77.03,,,en,no,,38.95,-77.10,5\n"
           "R-002,35F 7F,,,Washington,DC,\"es,en\",yes,children,,,\n")
Notice = tuple[str, str, dict[str, object]]


@router.get("")
def rescue_form(request: Request, services: ServicesDep, identity: IdentityDep) -> Response:
    require(identity, Role.ADVOCATE, Role.CASE_MANAGER)
    return render(request, services.settings, "rescue.html", identity=identity,
                  households=EXAMPLE, result=None, notice=None, map_json=None, held=False,
                  raid={}, row_errors=[])


@router.get("/template.csv")
def template(identity: IdentityDep) -> Response:
    """The households CSV's columns and two example rows, to fill in a spreadsheet."""
    require(identity, Role.ADVOCATE, Role.CASE_MANAGER)
    return PlainTextResponse(EXAMPLE, media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="households-template.csv"',
        "Cache-Control": "no-store"})


def _config(services: Services) -> matching_service.BatchConfig:
    s = services.settings
    return matching_service.BatchConfig(
        time_limit_cap_s=s.solver_time_limit_cap_s,
        default_time_limit_s=s.solver_default_time_limit_s, memory_mb=s.solver_memory_mb,
        max_concurrent=s.solver_max_concurrent, workers=s.solver_workers)


def _map(services: Services, principal: Principal, cases: list[MatchCase],
         result: BatchMatchResult) -> dict[str, Any]:
    """The placement map's data: households, shelters and lines between them. A safe house is
    drawn as its public grid cell, never a point, for every viewer (its staff included: a
    shared screen is no place for the address), and gets no line from its households."""
    by_ref = {c.case_ref: c for c in cases}
    counts: dict[int, int] = {}
    names: dict[int, str] = {}
    for a in result.assignments:
        counts[a.shelter_id] = counts.get(a.shelter_id, 0) + 1
        names[a.shelter_id] = a.shelter_name
    with services.db.read_session() as session:
        points = shelters.public_points(session, sorted(counts))
    spec: dict[str, Any] = {"tiles": services.settings.web_map_tiles_url,
                            "attribution": "© OpenStreetMap contributors", "shelters": [],
                            "cells": [], "households": [], "lines": [], "zones": []}
    zones = {(p.lat, p.lon, p.radius_km) for c in cases for p in c.exclusions.points}
    spec["zones"] = [{"lat": la, "lon": lo, "radius_m": r * 1000} for la, lo, r in sorted(zones)]
    for shelter_id, point in sorted(points.items()):
        label = f"{names[shelter_id]} ({counts[shelter_id]})"
        if point.cell_deg is None:
            spec["shelters"].append({"lat": point.lat, "lon": point.lon, "label": label})
        else:
            half = point.cell_deg / 2
            spec["cells"].append({"south": point.lat - half, "west": point.lon - half,
                                  "north": point.lat + half, "east": point.lon + half,
                                  "label": label})
    for a in result.assignments:
        case = by_ref.get(a.case_ref)
        home = (case.location.lat, case.location.lon) if case else (None, None)
        if home[0] is None or home[1] is None:
            continue
        spec["households"].append({"lat": home[0], "lon": home[1], "label": a.case_ref})
        target = points.get(a.shelter_id)
        if target is not None and target.cell_deg is None:
            spec["lines"].append([list(home), [target.lat, target.lon]])
    return spec


@router.post("")
async def run(request: Request, services: ServicesDep, identity: PostDep,
              households: Annotated[str, Form(max_length=MAX_UPLOAD_BYTES)] = "",
              action: Annotated[str, Form(max_length=10)] = "match",
              hold_ttl_minutes: Annotated[int, Form(ge=5, le=24 * 60)] = 90,
              raid_lat: Annotated[str, Form(max_length=30)] = "",
              raid_lon: Annotated[str, Form(max_length=30)] = "",
              raid_radius_km: Annotated[str, Form(max_length=30)] = "",
              file: Annotated[UploadFile | None, File()] = None) -> Response:
    principal = require(identity, Role.ADVOCATE, Role.CASE_MANAGER)
    if file is not None and file.filename:
        raw = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) <= MAX_UPLOAD_BYTES:
            households = raw.decode("utf-8-sig", errors="replace")
    hold = action == "hold"

    raid = {"lat": raid_lat, "lon": raid_lon, "radius_km": raid_radius_km}

    def page(result: BatchMatchResult | None, notice: Notice | None, status: int,
             map_json: str | None = None, row_errors: forms.Problems | None = None
             ) -> Response:
        return render(request, services.settings, "rescue.html", identity=identity,
                      status=status, households=households, result=result, notice=notice,
                      map_json=map_json, held=hold and result is not None, raid=raid,
                      row_errors=[(wording.place(f), m) for f, m in row_errors or []])

    try:
        cases = forms.households_csv(
            households, forms.raid_site(raid_lat, raid_lon, raid_radius_km))
    except forms.FormError as exc:
        return page(None, ("error", "Nothing was run: {n} problem(s) to correct.",
                           {"n": len(exc.errors)}), 422, row_errors=exc.errors)

    def solve() -> tuple[BatchMatchResult, dict[str, Any]]:
        result = matching_service.match_batch(
            services.db, actor=principal, cipher=services.cipher,
            request=BatchMatchRequest(cases=cases, options=BatchMatchOptions(
                hold=hold, hold_ttl_minutes=hold_ttl_minutes)),
            config=_config(services), solvers=services.solver_pool,
            probe_limits=services.probe_limits)
        return result, _map(services, principal, cases, result)

    try:
        result, spec = await run_in_threadpool(solve)
    except DomainError as exc:
        return page(None, ("error", "{detail}", {"detail": wording.from_domain(exc)}),
                    STATUS_BY_KIND[exc.kind])
    # A re-run keeps the batch holds its cases already have: they count as held, not placed.
    placed = len(result.assignments) + len(result.already_held)
    msgid = ("Held beds for {placed} of {total} households." if hold
             else "Found places for {placed} of {total} households.")
    # The JSON sits in a <script type="application/json"> block: "</" must not close it.
    map_json = json.dumps(spec).replace("</", "<\\/")
    return page(result, ("ok", msgid, {"placed": placed, "total": len(cases)}), 200, map_json)
