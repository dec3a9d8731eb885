"""Shelter matching over HTTP: rank shelters for one household, or place a whole batch.

Both routes open their own short transactions through the service (a batch solves for
seconds in a worker process between reading counts and holding beds, so it must not sit in a
write transaction meanwhile). Responses are private to the caller and never cached.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep, ServicesDep
from logistics.matching import service as matching_service
from logistics.matching.models import (
    BatchMatchRequest,
    BatchMatchResult,
    MatchRequest,
    MatchResult,
)

router = APIRouter(prefix="/v1", tags=["matching"])


@router.post("/matches", response_model=MatchResult)
def match(body: MatchRequest, principal: PrincipalDep, services: ServicesDep) -> object:
    return matching_service.match_household(services.db, actor=principal,
                                            cipher=services.cipher, request=body,
                                            probe_limits=services.probe_limits)


@router.post("/matches/batch", response_model=BatchMatchResult)
def match_batch(body: BatchMatchRequest, principal: PrincipalDep, services: ServicesDep) -> object:
    s = services.settings
    config = matching_service.BatchConfig(
        time_limit_cap_s=s.solver_time_limit_cap_s,
        default_time_limit_s=s.solver_default_time_limit_s, memory_mb=s.solver_memory_mb,
        max_concurrent=s.solver_max_concurrent, workers=s.solver_workers)
    return matching_service.match_batch(services.db, actor=principal, cipher=services.cipher,
                                        request=body, config=config,
                                        solvers=services.solver_pool,
                                        probe_limits=services.probe_limits)
