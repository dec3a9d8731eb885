"""The coordinator's bed board: their own shelters' counts, one-tap moves, holds, check-ins.

Each action posts one small form and gets the whole board back; htmx swaps only the acting
shelter's card (`hx-select`), and without JavaScript the same form reloads the page. Counts
are set with the version the page was rendered from, so a change made meanwhile by someone
else is refused and shown plainly beside the current numbers.

Two lists of holds sit beside it (`/web/holds/...`): "My holds" (the signed-in advocate's or
case manager's own active holds, as `GET /v1/holds?mine=true`) and "Holds on my beds" (every
active hold on the coordinator's shelters, as `GET /v1/shelters/{id}/holds`), each with the
time left and confirm / release buttons that call the same use case as the API, so its access
rules (holding agency, the shelter's staff, admins) decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import Services, ServicesDep, SessionDep
from api.errors import STATUS_BY_KIND
from api.web import wording
from api.web.common import IdentityDep, PostDep, redirect, render, require
from core.clock import utcnow
from core.errors import DomainError
from core.models import Role
from core.principal import Principal
from logistics.beds import holds as hold_service
from logistics.beds import inventory as bed_service
from logistics.beds.models import BedCountPublic, BedCountUpdate, HoldPublic
from logistics.errors import StaleCounts
from logistics.shelters import service as shelters
from logistics.shelters.models import ShelterPublic
from logistics.shelters.visibility import can_manage
from logistics.vocabulary import BedType

router = APIRouter(prefix="/web/board", include_in_schema=False)
holds_router = APIRouter(prefix="/web/holds", include_in_schema=False)
HOLDERS = (Role.ADVOCATE, Role.CASE_MANAGER)
SOON_MINUTES = 30  # time left shown as urgent

BED_LABELS = {
    BedType.ADULT_FEMALE: "Women",
    BedType.ADULT_MALE: "Men",
    BedType.ADULT_ANY: "Adults, any gender",
    BedType.YOUTH: "Youth",
    BedType.FAMILY_UNIT: "Family units",
}
Notice = tuple[str, str, dict[str, object]]  # (kind, msgid, params)
STALE_MESSAGE = ("Someone else changed these counts after you opened this page, so your numbers "
                 "were not saved. The table shows the counts as they are now; your numbers are "
                 "still in the form. Check them and save again.")


@dataclass
class Card:
    shelter: ShelterPublic
    beds: list[BedCountPublic]
    holds: list[HoldPublic]
    notice: tuple[str, str, dict[str, object]] | None = None  # (kind, msgid, params)
    drafts: dict[str, tuple[int, int]] = field(default_factory=dict)


def _cards(session: Session, services: Services, principal: Principal,
           shelter_ids: list[int]) -> list[Card]:
    cards = []
    for shelter_id in shelter_ids:
        shelter = shelters.get_shelter(session, actor=principal, cipher=services.cipher,
                                       shelter_id=shelter_id)
        beds = bed_service.list_beds(session, actor=principal, shelter_id=shelter_id)
        holds = hold_service.list_shelter_holds(session, actor=principal, shelter_id=shelter_id,
                                               limit=100, offset=0)
        cards.append(Card(shelter, beds, holds))
    return cards


def _shelter_ids(session: Session, principal: Principal, extra: int | None) -> list[int]:
    assert principal.account_id is not None
    ids = shelters.staff_shelter_ids(session, account_id=principal.account_id)
    # An admin opens a shelter it manages by id: a platform admin any, an agency admin its own
    # agency's (anything else would only fail on the counts and holds it may not read).
    if extra is not None and extra not in ids and can_manage(session, principal, extra):
        ids.append(extra)
    return ids


def _board(request: Request, services: Services, session: Session, identity: IdentityDep, *,
           shelter_id: int | None = None, notice: tuple[str, str, dict[str, object]] | None = None,
           drafts: dict[str, tuple[int, int]] | None = None, status: int = 200) -> Response:
    principal = require(identity, Role.SHELTER_COORDINATOR)
    session.rollback()  # a failed action leaves nothing behind; read the counts afresh
    cards = _cards(session, services, principal, _shelter_ids(session, principal, shelter_id))
    for card in cards:
        if card.shelter.id == shelter_id:
            card.notice = notice
            card.drafts = drafts or {}
    return render(request, services.settings, "board.html", identity=identity, status=status,
                  cards=cards, bed_labels=BED_LABELS, shelter_param=shelter_id)


@router.get("")
def board(request: Request, services: ServicesDep, session: SessionDep, identity: IdentityDep,
          shelter: Annotated[int | None, Query(ge=1)] = None) -> Response:
    return _board(request, services, session, identity, shelter_id=shelter)


def _failed(exc: DomainError) -> tuple[str, str, dict[str, object]]:
    return ("error", "{detail}", {"detail": wording.from_domain(exc)})


@router.post("/{shelter_id}/beds/{bed_type}/{action}")
def move(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
         shelter_id: int, bed_type: BedType, action: str,
         beds: Annotated[int, Form(ge=1, le=1000)] = 1) -> Response:
    principal = require(identity, Role.SHELTER_COORDINATOR)
    label = BED_LABELS[bed_type]
    try:
        if action == "admit" or action == "discharge":
            bed_service.move_beds(session, actor=principal, shelter_id=shelter_id,
                                  bed_type=bed_type, beds=beds, admit=action == "admit")
            msgid = ("Admitted {n} ({beds})." if action == "admit"
                     else "Discharged {n} ({beds}).")
            notice: Notice = ("ok", msgid, {"n": beds, "beds": label})
        elif action == "verify":
            bed_service.verify_counts(session, actor=principal, shelter_id=shelter_id,
                                      bed_type=bed_type)
            notice = ("ok", "Counts confirmed as still accurate ({beds}).", {"beds": label})
        else:
            return Response(status_code=404)
    except DomainError as exc:
        return _board(request, services, session, identity, shelter_id=shelter_id,
                      notice=_failed(exc), status=STATUS_BY_KIND[exc.kind])
    return _board(request, services, session, identity, shelter_id=shelter_id, notice=notice)


@router.post("/{shelter_id}/beds/{bed_type}")
def set_counts(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
               shelter_id: int, bed_type: BedType,
               total: Annotated[int, Form(ge=0, le=100_000)],
               occupied: Annotated[int, Form(ge=0, le=100_000)],
               version: Annotated[int, Form(ge=0)]) -> Response:
    principal = require(identity, Role.SHELTER_COORDINATOR)
    try:
        current = bed_service.get_bed_count(session, actor=principal, shelter_id=shelter_id,
                                            bed_type=bed_type)
        bed_service.set_counts(
            session, actor=principal, shelter_id=shelter_id, bed_type=bed_type,
            expected_version=version,
            data=BedCountUpdate(total=total, occupied=occupied,
                                max_household=current.max_household))
    except StaleCounts:
        notice: Notice = ("conflict", STALE_MESSAGE, {})
        return _board(request, services, session, identity, shelter_id=shelter_id,
                      notice=notice, drafts={bed_type.value: (total, occupied)}, status=409)
    except DomainError as exc:
        return _board(request, services, session, identity, shelter_id=shelter_id,
                      notice=_failed(exc), drafts={bed_type.value: (total, occupied)},
                      status=STATUS_BY_KIND[exc.kind])
    return _board(request, services, session, identity, shelter_id=shelter_id,
                  notice=("ok", "Saved: {beds} now {total} beds, {occupied} occupied.",
                          {"beds": BED_LABELS[bed_type], "total": total,
                           "occupied": occupied}))


@router.post("/{shelter_id}/holds/{hold_id}/{action}")
def close_hold(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
               shelter_id: int, hold_id: int, action: str) -> Response:
    principal = require(identity, Role.SHELTER_COORDINATOR)
    if action not in ("confirm", "release"):
        return Response(status_code=404)
    try:
        hold_service.close_hold(session, actor=principal, hold_id=hold_id,
                               confirm=action == "confirm")
    except DomainError as exc:
        return _board(request, services, session, identity, shelter_id=shelter_id,
                      notice=_failed(exc), status=STATUS_BY_KIND[exc.kind])
    msgid = ("Hold {id} confirmed: the beds are now occupied." if action == "confirm"
             else "Hold {id} released: the beds are free again.")
    return _board(request, services, session, identity, shelter_id=shelter_id,
                  notice=("ok", msgid, {"id": hold_id}))


@dataclass
class HoldRow:
    hold: HoldPublic
    shelter: str
    minutes_left: int


def _hold_rows(session: Session, services: Services, principal: Principal,
               holds: list[HoldPublic], now: datetime) -> list[HoldRow]:
    names: dict[int, str] = {}
    for shelter_id in sorted({h.shelter_id for h in holds}):
        try:
            found = shelters.get_shelter(session, actor=principal, cipher=services.cipher,
                                         shelter_id=shelter_id)
            names[shelter_id] = f"{found.name} ({found.city}, {found.state})"
        except DomainError:
            names[shelter_id] = f"#{shelter_id}"
    return [HoldRow(h, names[h.shelter_id],
                    max(int((h.expires_at - now).total_seconds() // 60), 0)) for h in holds]


def _holds_page(request: Request, services: Services, session: Session,
                identity: IdentityDep, *, mine: bool, notice: Notice | None = None,
                status: int = 200) -> Response:
    principal = require(identity, *HOLDERS) if mine else require(
        identity, Role.SHELTER_COORDINATOR)
    session.rollback()
    now = utcnow()
    if mine:
        holds = hold_service.list_my_holds(session, actor=principal, limit=100, offset=0)
        staff = True
    else:
        assert principal.account_id is not None
        ids = shelters.staff_shelter_ids(session, account_id=principal.account_id)
        staff = bool(ids)
        holds = sorted((h for sid in ids for h in hold_service.list_shelter_holds(
            session, actor=principal, shelter_id=sid, limit=100, offset=0)),
            key=lambda h: (h.expires_at, h.id))
    return render(request, services.settings, "holds.html", identity=identity, status=status,
                  mine=mine, rows=_hold_rows(session, services, principal, holds, now),
                  staff=staff, bed_labels=BED_LABELS, soon=SOON_MINUTES, notice=notice,
                  base="/web/holds/mine" if mine else "/web/holds/shelters")


@holds_router.get("/mine")
def my_holds(request: Request, services: ServicesDep, session: SessionDep,
             identity: IdentityDep) -> Response:
    return _holds_page(request, services, session, identity, mine=True)


@holds_router.get("/shelters")
def holds_on_my_beds(request: Request, services: ServicesDep, session: SessionDep,
                     identity: IdentityDep) -> Response:
    return _holds_page(request, services, session, identity, mine=False)


@holds_router.get("/{which}/{hold_id}/{action}")
def back_to_list(which: str, hold_id: int, action: str) -> Response:
    """The page an action answered is at the action's address: a language switch or a reload
    there (a GET) goes back to the list instead of a 405."""
    return redirect("/web/holds/mine" if which == "mine" else "/web/holds/shelters")


@holds_router.post("/{which}/{hold_id}/{action}")
def close_listed_hold(request: Request, services: ServicesDep, session: SessionDep,
                      identity: PostDep, which: str, hold_id: int, action: str) -> Response:
    if which not in ("mine", "shelters") or action not in ("confirm", "release"):
        return Response(status_code=404)
    mine = which == "mine"
    principal = require(identity, *HOLDERS) if mine else require(
        identity, Role.SHELTER_COORDINATOR)
    try:
        hold_service.close_hold(session, actor=principal, hold_id=hold_id,
                               confirm=action == "confirm")
    except DomainError as exc:
        return _holds_page(request, services, session, identity, mine=mine,
                           notice=_failed(exc), status=STATUS_BY_KIND[exc.kind])
    msgid = ("Hold {id} confirmed: the beds are now occupied." if action == "confirm"
             else "Hold {id} released: the beds are free again.")
    return _holds_page(request, services, session, identity, mine=mine,
                       notice=("ok", msgid, {"id": hold_id}))
