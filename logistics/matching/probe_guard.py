"""Matching's side of the probing limit: the circles a match or batch draws, counted first.

Every household of a match or a batch draws circles (its point, travel limit and exclusion
zones; `logistics.probes.rules.case_probes`); they are counted against the caller's budget by
`logistics.probes.service` before anything is matched, so a refused request learns nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.crypto import FieldCipher
from core.db import Database
from core.principal import Principal
from logistics.matching.households import stored_case
from logistics.matching.models import MatchCase, MatchRequest
from logistics.probes.rules import CaseGeometry, ProbeLimits, case_probes
from logistics.probes.service import guard, record_probes, refusal


def geometry(case: MatchCase) -> CaseGeometry:
    loc = case.location
    return CaseGeometry(
        lat=loc.lat, lon=loc.lon, city=loc.city, state=loc.state,
        max_travel_km=case.max_travel_km,
        exclusions=tuple((p.lat, p.lon, p.radius_km) for p in case.exclusions.points))


def guard_matching(db: Database, *, actor: Principal, cipher: FieldCipher,
                   cases: Sequence[MatchCase], case_ids: Sequence[int], limits: ProbeLimits,
                   source: str) -> None:
    """Count the circles of every household of a match or batch, inline or stored.

    A stored case is read (an audited read, purpose "matching") in this transaction; the
    matcher reads it again for the match itself.
    """
    if actor.account_id is None:
        return
    if not case_ids:  # inline cases only: nothing to audit, so a refresh need not write
        guard(db, actor=actor, cipher=cipher,
              probes=[p for case in cases for p in case_probes(geometry(case))],
              limits=limits, source=source, purpose="matching")
        return
    with db.write_session() as session:
        stored = [stored_case(session, actor=actor, cipher=cipher, case_id=case_id)
                  for case_id in dict.fromkeys(case_ids)]
        probes = [p for case in [*cases, *stored] for p in case_probes(geometry(case))]
        if not probes:
            session.commit()  # the audited reads stand
            return
        wait = record_probes(session, actor=actor, cipher=cipher, probes=probes,
                             limits=limits, source=source, purpose="matching")
    if wait is not None:
        raise refusal(wait)


def guard_match(db: Database, *, actor: Principal, cipher: FieldCipher, request: MatchRequest,
                limits: ProbeLimits) -> None:
    """`guard_matching` for one household; a request naming both or neither a case and a
    case id draws nothing (the matcher refuses it as invalid)."""
    if (request.case is None) == (request.case_id is None):
        return
    guard_matching(db, actor=actor, cipher=cipher,
                   cases=[] if request.case is None else [request.case],
                   case_ids=[] if request.case_id is None else [request.case_id],
                   limits=limits, source="match")
