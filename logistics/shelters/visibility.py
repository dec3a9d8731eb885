"""Who may see and change what in the registry: shelter staff, admins, and everyone else.

A confidential shelter's exact place is for its own coordinators, the admins of the agency that
runs it and platform admins; everyone else gets the city, the state and distances rounded to
5 km, computed from a coarse grid point. The grid point and its cell are the safe house's
public place: nothing computed for anyone but those (search, matching, plans) may read the
sealed exact point, so moving the house within its cell changes no answer an outsider can get
(non-interference).
"""

from __future__ import annotations

from sqlmodel import Session, select

from core.models import Role
from core.principal import Principal
from logistics.errors import NotShelterStaff
from logistics.shelters.models import Shelter, ShelterStaff

# 0.05 degrees of latitude is about 5.5 km: coarse enough that the grid point says only the
# neighbourhood-of-a-city, fine enough that search by radius stays useful.
CONFIDENTIAL_GRID_DEG = 0.05
DISTANCE_ROUNDING_M = 5_000
# The farthest any point of a cell can be from the cell's published point: the half-diagonal
# of a 0.05 x 0.05 degree cell is at most 3,931 m (at the equator; less farther north), plus
# the 4-decimal rounding of the published point (< 8 m). Exclusion zones are widened by this for
# safe houses, so a house is kept away when any part of its cell touches a zone.
CELL_UNCERTAINTY_M = 4_000


def coarse_point(lat: float, lon: float) -> tuple[float, float]:
    step = CONFIDENTIAL_GRID_DEG
    return round(round(lat / step) * step, 4), round(round(lon / step) * step, 4)


def rounded_distance_m(distance_m: int) -> int:
    """A distance rounded to the nearest 5 km, never shown as 0 (which would say 'here')."""
    return max(DISTANCE_ROUNDING_M, round(distance_m / DISTANCE_ROUNDING_M) * DISTANCE_ROUNDING_M)


def is_staff(session: Session, actor: Principal, shelter_id: int) -> bool:
    if actor.role is not Role.SHELTER_COORDINATOR or actor.account_id is None:
        return False
    row = session.exec(select(ShelterStaff).where(
        ShelterStaff.shelter_id == shelter_id, ShelterStaff.account_id == actor.account_id
    )).first()
    return row is not None


def can_manage(session: Session, actor: Principal, shelter_id: int) -> bool:
    """Its coordinators, an admin of the agency that runs it, and platform admins."""
    if actor.is_platform_admin:
        return True
    if actor.is_agency_admin:
        shelter = session.get(Shelter, shelter_id)
        return shelter is not None and actor.administers(shelter.agency_id)
    return is_staff(session, actor, shelter_id)


def require_manager(session: Session, actor: Principal, shelter_id: int) -> None:
    if not can_manage(session, actor, shelter_id):
        raise NotShelterStaff(f"only coordinators of shelter {shelter_id} and admins may do this")
