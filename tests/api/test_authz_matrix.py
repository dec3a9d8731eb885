"""The authorization matrix: every JSON API route x role x (own agency's object, another's).

`MATRIX` is data: one entry per (method, path template) saying which roles may act on their own
agency's object and which on another agency's object (None when the route has no agency-owned
object, e.g. a search), and how to build a minimal valid request from a prepared world of two
agencies, A and B, each with every kind of object. Callers are always A's advocate, case
manager, shelter coordinator (bound to A's shelter), agency admin and platform admin (A is the
hotline's agency, the only kind a platform admin may belong to). Expectations: 401 without a
token; 403 or 404 where the role has no right; a 2xx where it has. A route of the app missing
from the matrix fails `test_every_route_is_in_the_matrix`, naming the entry to add. Entries
marked `# DESIGN:` encode current behaviour that is a policy question, not a clear bug.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import Services
from core import service as accounts
from core import web_auth
from core.models import AgencyKind, Role
from core.principal import SYSTEM
from tests.api.travel_support import load_year_round, query, tomorrow
from tests.support import Account, AccountFactory, coordinator, shelter_body

ADV, CM, CO = "advocate", "case_manager", "shelter_coordinator"
AA, PA = "agency_admin", "platform_admin"
ROLES = (ADV, CM, CO, AA, PA)
ALL = frozenset(ROLES)
# An agency admin acts in its own agency as its advocates and case managers do; outside it,
# like them too. Only a platform admin reaches another agency's objects.
WORKERS = frozenset({ADV, CM, AA, PA})
ADMINS = frozenset({AA, PA})
MANAGERS = frozenset({CO, AA, PA})  # of a shelter: its coordinators, its agency's admins
PLATFORM = frozenset({PA})
PASSPORT_HELD = {"documents_held": True, "wages_withheld": True, "lives_with_trafficker": True}
DANGER = {"weapon_threat": True, "threatened_to_kill": True, "phone_monitored": True}
BED = "adult_female"
PASSWORD = "correct horse battery staple"


class Call(NamedTuple):
    method: str
    url: str
    json: Any = None
    headers: dict[str, str] = {}


@dataclass
class Side:
    """One agency and one of each of its objects."""

    name: str
    agency: int
    people: dict[str, Account]
    ids: dict[str, int] = field(default_factory=dict)

    def __getattr__(self, key: str) -> int:
        try:
            return self.ids[key]
        except KeyError:
            raise AttributeError(key) from None


class World:
    """Two agencies built through the API; helpers make fresh objects for one-shot routes."""

    def __init__(self, client: TestClient, make: AccountFactory) -> None:
        self.client, self.make = client, make
        self.root = make.account(Role.PLATFORM_ADMIN, agency="Agency A", name="root",
                                 kind=AgencyKind.HOTLINE)
        self.org = self.ok(self.root, Call("POST", "/v1/directory/organizations", {
            "name": "Law Project", "specialisation": "both", "lat": 29.76, "lon": -95.36,
            "city": "Houston", "state": "TX", "timezone": "America/Chicago",
            "services": [{"service_type": "legal", "name": "T visa"}],
            "areas": [{"kind": "city", "state": "TX", "city": "Houston"}]}))["id"]
        self.a, self.b = self._side("Agency A"), self._side("Agency B")
        self.a.people[PA] = self.root

    def send(self, who: Account | None, call: Call) -> Any:  # an httpx(2) Response
        headers = {**(who.headers if who else {}), **call.headers}
        return self.client.request(call.method, call.url, json=call.json, headers=headers)

    def ok(self, who: Account, call: Call) -> Any:
        response = self.send(who, call)
        assert response.is_success, f"{call.method} {call.url}: {response.text}"
        return response.json() if response.content else None

    def if_match(self, url: str) -> dict[str, str]:
        response = self.send(self.root, Call("GET", url))
        assert response.is_success, response.text
        return {"If-Match": response.headers["ETag"]}

    def _side(self, name: str) -> Side:
        agency = self.make.agency(name)
        people = {role.value: self.make.account(role, agency=name)
                  for role in (Role.ADVOCATE, Role.CASE_MANAGER, Role.AGENCY_ADMIN)}
        side = Side(name, agency, people)
        side.ids["shelter"] = self.ok(self.root, Call("POST", "/v1/shelters", shelter_body(
            agency, beds=[{"bed_type": BED, "total": 500, "occupied": 100}])))["id"]
        people[CO] = coordinator(self.make, [side.shelter], agency=name)
        with self.make.services.db.write_session() as session:
            for person in people.values():  # a holder mints its own tokens with its password
                web_auth.set_password(session, actor=SYSTEM, name=person.name,
                                      password=PASSWORD)
            session.commit()
        side.ids["subject"] = self.make.account(Role.ADVOCATE, agency=name).id
        side.ids["case"] = self.fresh_case(side)
        side.ids["screening"] = self._screen(side, PASSPORT_HELD)
        side.ids["screening2"] = self._screen(side, DANGER)
        side.ids["plan"] = self.fresh_safety_plan(side)
        side.ids["proposal"] = self.fresh_proposal(side)
        side.ids["hold"] = self.fresh_hold(side)
        side.ids["surge"] = self.fresh_surge(side)
        side.ids["release"] = self.fresh_release(side)
        side.ids["referral"] = self.fresh_referral(side)
        side.ids["travel"] = self.fresh_travel(side)
        side.ids["tip"] = self.ok(people[ADV], Call("POST", "/v1/tips", {
            "trafficking_type": "sex", "locations": [{"city": "Houston", "state": "TX"}],
            "description": "locked in overnight"}))["id"]
        return side

    def _screen(self, side: Side, answers: dict[str, Any]) -> int:
        return int(self.ok(side.people[ADV], Call(
            "POST", f"/v1/cases/{side.case}/screenings", {"answers": answers}))["id"])

    def fresh_case(self, side: Side) -> int:
        return int(self.ok(side.people[ADV], Call("POST", "/v1/cases", {
            "case_ref": _uniq("C"), "household": [{"age": 30, "gender": "female"}],
            "trafficking_type": "labor", "location": {"lat": 29.76, "lon": -95.37}}))["id"])

    def fresh_safety_plan(self, side: Side) -> int:
        return int(self.ok(side.people[ADV], Call("POST", "/v1/safety-plans", {
            "case_id": side.case, "screening_id": side.screening, "shelters": []}))["id"])

    def fresh_proposal(self, side: Side) -> int:
        return int(self.ok(side.people[ADV], Call(
            "POST", f"/v1/safety-plans/{side.plan}/proposals",
            {"screening_id": side.screening2}))["id"])

    def fresh_hold(self, side: Side) -> int:
        return int(self.ok(side.people[ADV], Call(
            "POST", f"/v1/shelters/{side.shelter}/holds",
            {"bed_type": BED, "beds": 1, "case_ref": "C-1"}))["id"])

    def fresh_surge(self, side: Side) -> int:
        now = datetime.now(UTC)
        return int(self.ok(side.people[CO], Call(
            "POST", f"/v1/shelters/{side.shelter}/beds/{BED}/surge",
            {"beds": 5, "starts_at": now.isoformat(),
             "ends_at": (now + timedelta(hours=12)).isoformat()}))["id"])

    def fresh_release(self, side: Side) -> int:
        return int(self.ok(side.people[ADV], Call(
            "POST", f"/v1/cases/{side.case}/releases",
            {"recipient_id": self.org, "fields": ["household"], "purpose": "legal help"}))["id"])

    def fresh_referral(self, side: Side) -> int:
        return int(self.ok(side.people[ADV], Call("POST", "/v1/referrals", {
            "case_id": side.case, "recipient_id": self.org, "service_type": "legal",
            "fields": []}))["id"])

    def itinerary_id(self, who: Account) -> str:
        """An id from `who`'s own search (ids are bound to the searching account), or a
        dummy for a role that may not search, which is refused before the id is read."""
        found = self.send(who, Call("POST", "/v1/itineraries/search",
                                    query(depart_after=tomorrow().isoformat())))
        return str(found.json()["itineraries"][0]["itinerary_id"]) if found.is_success \
            else "not-searched"

    def fresh_travel(self, side: Side, *, booked: bool = False) -> int:
        plan = self.ok(side.people[ADV], Call("POST", "/v1/travel-plans", {
            "case_id": side.case, "itinerary_id": self.itinerary_id(side.people[ADV])}))["id"]
        if booked:
            for body in ({"status": "approved"},
                         {"status": "booked", "booking_references": ["R1"]}):
                self.ok(side.people[CM], Call("POST", f"/v1/travel-plans/{plan}/status", body))
        return int(plan)

    def fresh_token(self, account_id: int) -> int:
        with self.make.services.db.write_session() as session:
            issued = accounts.issue_token(session, actor=SYSTEM, account_id=account_id,
                                          ttl_days=1)
            return int(issued.id)

    def fresh_step(self, side: Side) -> tuple[int, str]:
        """A fresh plan with one added (removable) step: (plan id, step id)."""
        plan = self.fresh_safety_plan(side)
        url = f"/v1/safety-plans/{plan}"
        added = self.ok(self.root, Call("POST", f"{url}/steps", {
            "section": "money", "text": "Open a bank account"}, self.if_match(url)))
        steps = [s["id"] for sec in added["plan"]["sections"] for s in sec["steps"]]
        return plan, next(s for s in steps if s.startswith("custom."))


# (world, the object's side, the caller) -> the request
Build = Callable[[World, Side, Account], Call]


@dataclass(frozen=True)
class Rule:
    own: frozenset[str]
    other: frozenset[str] | None  # None: the route acts on no agency-owned object
    build: Build


_PERIODS = itertools.count()


def _next_period() -> str:
    """A closed month not released yet (each publication is once)."""
    n = next(_PERIODS)
    return f"{2001 + n // 12}-{n % 12 + 1:02d}"


def _released(w: World) -> str:
    """A period released by the platform admin of this world (2000-01, empty)."""
    response = w.send(w.root, Call("POST", "/v1/stats/releases", {"period": "2000-01"}))
    assert response.status_code in (201, 409), response.text
    return "2000-01"


def _uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _self_or(s: Side, c: Account) -> int:
    """Token routes: 'own' is the caller's own account, 'other' an account of agency B."""
    return c.id if s.agency == c.agency_id else s.subject


def _fresh_token(w: World, s: Side, c: Account) -> Call:
    return Call("DELETE", f"/v1/tokens/{w.fresh_token(_self_or(s, c))}")


def _patch_step(w: World, s: Side, c: Account) -> Call:
    url = f"/v1/safety-plans/{s.plan}"
    return Call("PATCH", f"{url}/steps/documents.passport", {"text": "Keep a copy"},
                w.if_match(url))


def _remove_step(w: World, s: Side, c: Account) -> Call:
    plan, step = w.fresh_step(s)
    url = f"/v1/safety-plans/{plan}"
    return Call("DELETE", f"{url}/steps/{step}", None, w.if_match(url))


def _apply(w: World, s: Side, c: Account) -> Call:
    proposal = w.fresh_proposal(s)
    url = f"/v1/safety-plans/{s.plan}"
    # every step it proposes (omitting `accept` applies nothing, a 422 by design)
    steps = w.ok(w.root, Call("GET", f"{url}/proposals/{proposal}"))["step_ids"]
    return Call("POST", f"{url}/proposals/{proposal}/apply", {"accept": steps}, w.if_match(url))


def _check_in(w: World, s: Side, c: Account) -> Call:
    plan = w.fresh_travel(s, booked=True)
    first = w.ok(w.root, Call("GET", f"/v1/travel-plans/{plan}"))["check_ins"][0]["id"]
    return Call("POST", f"/v1/travel-plans/{plan}/check-ins/{first}", {"safe": True})


def _alert(w: World, s: Side, c: Account) -> Call:
    """A fresh unsafe alert: a booked plan whose first check-in says `safe: false`."""
    plan = w.fresh_travel(s, booked=True)
    first = w.ok(w.root, Call("GET", f"/v1/travel-plans/{plan}"))["check_ins"][0]["id"]
    w.ok(w.root, Call("POST", f"/v1/travel-plans/{plan}/check-ins/{first}", {"safe": False}))
    alert = w.ok(w.root, Call("GET", f"/v1/alerts?case_id={s.case}&open=true"))[0]["id"]
    return Call("POST", f"/v1/alerts/{alert}/acknowledge", {})


def _set_beds(w: World, s: Side, c: Account) -> Call:
    url = f"/v1/shelters/{s.shelter}/beds/{BED}"
    current = w.ok(w.root, Call("GET", url))
    return Call("PUT", url, {"total": 600, "occupied": current["occupied"]}, w.if_match(url))


def _patch_referral(w: World, s: Side, c: Account) -> Call:
    url = f"/v1/referrals/{w.fresh_referral(s)}"
    return Call("PATCH", url, {"status": "accepted"}, w.if_match(url))


def _staff(w: World, s: Side, c: Account) -> Call:
    extra = w.make.account(Role.SHELTER_COORDINATOR, agency=s.name)
    return Call("POST", f"/v1/shelters/{s.shelter}/staff", {"account_id": extra.id})


NOW = datetime.now(UTC)
SURGE = {"beds": 2, "starts_at": NOW.isoformat(),
         "ends_at": (NOW + timedelta(hours=6)).isoformat()}
SEARCH = {"from": {"lat": 41.8789, "lon": -87.6397}, "to": {"city": "Denver", "state": "CO"},
          "depart_after": "2023-04-12T08:00:00-04:00", "travellers": [{"age": 30}],
          "has_id": True, "escort": False, "budget_cents": 100_000,
          "avoid": {"cities": [], "states": [], "points": []}}


def _allocate(s: Side) -> dict[str, Any]:
    return {"cases": [{"case_id": s.case,
                       "candidates": [{"itinerary_id": "a", "cost_cents": 9_000}]}]}


def _allocation(w: World, s: Side, c: Account) -> int:
    return int(w.ok(s.people[CM], Call("POST", "/v1/travel/allocate", _allocate(s)))["id"])


def _optimise(s: Side) -> dict[str, Any]:
    return {"cases": [{"case_id": s.case, "destination": {"city": "Denver", "state": "CO"}}],
            "options": {"time_limit_s": 1}}


def _disruption(w: World, s: Side, c: Account, *, proposal: bool = False) -> int:
    """A fresh stored disruption of a fresh travel plan of side `s`; with `proposal`, one
    proposal vouched for the caller `c` (the same shelter by the search's first itinerary, a
    new hold), as the realtime route would store it."""
    from logistics.return_plans import disruptions, restore
    from logistics.return_plans.disruption_models import (
        DisruptionKind,
        ProposalKind,
        RestoreProposal,
        ReturnDisruption,
    )
    from logistics.travel.plan_models import TravelPlan

    services, now = w.make.services, datetime.now(UTC)
    plan_id = w.fresh_travel(s)
    found = w.send(c, Call("POST", "/v1/itineraries/search",
                           query(depart_after=tomorrow().isoformat())))
    with services.db.write_session() as session:
        plan = session.get(TravelPlan, plan_id)
        assert plan is not None
        made = disruptions.stage(session, cipher=services.cipher, plan=plan,
                                 kind=DisruptionKind.TRIP_CANCELLED,
                                 reasons=[f"trip T1 is cancelled ({uuid.uuid4()})"], now=now)
        row = session.get(ReturnDisruption, made)
        assert row is not None
        if proposal and found.is_success and c.id is not None:
            it = found.json()["itineraries"][0]
            restore.store(services.cipher, row, [RestoreProposal.model_validate({
                "id": 0, "kind": ProposalKind.SAME_SHELTER_LATER_TRIP, "shelter_id": s.shelter,
                "bed_type": BED, "beds": 1, "itinerary": it, "arrive_at_shelter": now,
                "hold_until": now + timedelta(hours=1), "keeps_hold": False,
                "reasons": []})], [], c.id)
            session.add(row)
        session.commit()
    return made


def _return_plan(w: World, s: Side, c: Account) -> int:
    # The case is in Houston, beyond the small feed: nothing is planned, so accepting it is a
    # no-op for those allowed (the accepting itself is tested in test_return_plans.py).
    return int(w.ok(s.people[CM], Call("POST", "/v1/return-plans/optimise", _optimise(s)))["id"])


def _feed() -> dict[str, str]:
    from google.transit import gtfs_realtime_pb2

    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    return {"feed_base64": base64.b64encode(feed.SerializeToString()).decode()}


def _funding_source(w: World, s: Side, c: Account) -> int:
    return int(w.ok(w.root, Call("POST", "/v1/funding-sources", {
        "agency_id": s.agency, "name": _uniq("fund"), "budget_cents": 50_000}))["id"])
SP = "/v1/safety-plans/{plan_id}"


def _message(w: World, s: Side, c: Account) -> Call:
    """A message of the side's case (its referral's, dead for want of an endpoint)."""
    rows = w.ok(w.root, Call("GET", f"/v1/messages?case_id={s.case}&kind=referral.sent"))
    return Call("GET", f"/v1/messages/{rows[0]['id']}")


def _retry(w: World, s: Side, c: Account) -> Call:
    """The side's referral message, dead again, with an endpoint for its organisation now."""
    from sqlalchemy import update

    from delivery.models import OutboxMessage

    rows = w.ok(w.root, Call("GET", f"/v1/messages?case_id={s.case}&kind=referral.sent"))
    endpoints = w.ok(w.root, Call("GET", "/v1/delivery/endpoints"))
    if not any(e["organization_id"] == w.org for e in endpoints):
        w.ok(w.root, Call("POST", "/v1/delivery/endpoints", {
            "channel": "webhook", "address": "https://partner.example.org/hook",
            "secret": "0123456789abcdef", "organization_id": w.org}))
    with w.make.services.db.write_session() as session:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.id == rows[0]["id"]).values(state="dead"))  # type: ignore[arg-type]
        session.commit()
    return Call("POST", f"/v1/messages/{rows[0]['id']}/retry")


def _send_sms(w: World, s: Side, c: Account) -> Call:
    w.ok(w.root, Call("POST", "/v1/delivery/endpoints", {
        "channel": "sms", "address": "+15550001111", "case_id": s.case, "safe": True}))
    return Call("POST", f"/v1/safety-plans/{s.plan}/send-sms")

MATRIX: dict[tuple[str, str], Rule] = {
    # accounts, tokens, audit
    ("GET", "/v1/me"): Rule(ALL, None, lambda w, s, c: Call("GET", "/v1/me")),
    ("GET", "/v1/agencies"): Rule(ALL, None, lambda w, s, c: Call("GET", "/v1/agencies")),
    ("POST", "/v1/agencies"): Rule(PLATFORM, None, lambda w, s, c: Call(
        "POST", "/v1/agencies", {"name": _uniq("agency"), "kind": "hotline"})),
    ("GET", "/v1/accounts"): Rule(ALL, None, lambda w, s, c: Call("GET", "/v1/accounts")),
    ("POST", "/v1/accounts"): Rule(ADMINS, PLATFORM, lambda w, s, c: Call("POST", "/v1/accounts", {
        "name": _uniq("acct"), "role": "advocate", "agency_id": s.agency})),
    ("GET", "/v1/accounts/{account_id}"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/accounts/{s.subject}")),
    ("PATCH", "/v1/accounts/{account_id}"): Rule(ADMINS, PLATFORM, lambda w, s, c: Call(
        "PATCH", f"/v1/accounts/{s.subject}", {"disabled": False},
        w.if_match(f"/v1/accounts/{s.subject}"))),
    ("GET", "/v1/accounts/{account_id}/tokens"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/accounts/{_self_or(s, c)}/tokens")),
    ("POST", "/v1/accounts/{account_id}/tokens"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/accounts/{_self_or(s, c)}/tokens",
        {"ttl_days": 1, "password": PASSWORD})),
    ("DELETE", "/v1/tokens/{token_id}"): Rule(ALL, PLATFORM, _fresh_token),
    ("GET", "/v1/audit"): Rule(PLATFORM, None, lambda w, s, c: Call("GET", "/v1/audit")),
    # An agency's budget of batch holds: read by its members, set by the platform's admins
    # (an agency's own admin raising it would make it no limit on that agency).
    ("GET", "/v1/agencies/{agency_id}/mass-rescue-budget"): Rule(
        ALL, PLATFORM, lambda w, s, c: Call(
            "GET", f"/v1/agencies/{s.agency}/mass-rescue-budget")),
    ("PUT", "/v1/agencies/{agency_id}/mass-rescue-budget"): Rule(
        PLATFORM, PLATFORM, lambda w, s, c: Call(
            "PUT", f"/v1/agencies/{s.agency}/mass-rescue-budget", {"budget": 20})),
    # shelters, beds, surge, holds
    ("GET", "/v1/shelters"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", "/v1/shelters?near=38.9,-77.0")),
    ("GET", "/v1/unmet-need"): Rule(PLATFORM, None, lambda w, s, c: Call("GET", "/v1/unmet-need")),
    ("GET", "/v1/probes"): Rule(PLATFORM, None, lambda w, s, c: Call("GET", "/v1/probes")),
    ("POST", "/v1/shelters"): Rule(ADMINS, PLATFORM, lambda w, s, c: Call(
        "POST", "/v1/shelters", shelter_body(s.agency))),
    ("GET", "/v1/shelters/{shelter_id}"): Rule(ALL, ALL, lambda w, s, c: Call(
        "GET", f"/v1/shelters/{s.shelter}")),
    ("POST", "/v1/shelters/{shelter_id}/staff"): Rule(ADMINS, PLATFORM, _staff),
    ("GET", "/v1/shelters/{shelter_id}/beds"): Rule(ALL, ALL, lambda w, s, c: Call(
        "GET", f"/v1/shelters/{s.shelter}/beds")),
    ("GET", "/v1/shelters/{shelter_id}/beds/{bed_type}"): Rule(ALL, ALL, lambda w, s, c: Call(
        "GET", f"/v1/shelters/{s.shelter}/beds/{BED}")),
    ("PUT", "/v1/shelters/{shelter_id}/beds/{bed_type}"): Rule(
        MANAGERS, PLATFORM, _set_beds),
    ("POST", "/v1/shelters/{shelter_id}/beds/{bed_type}/admit"): Rule(
        MANAGERS, PLATFORM, lambda w, s, c: Call(
            "POST", f"/v1/shelters/{s.shelter}/beds/{BED}/admit", {"beds": 1})),
    ("POST", "/v1/shelters/{shelter_id}/beds/{bed_type}/discharge"): Rule(
        MANAGERS, PLATFORM, lambda w, s, c: Call(
            "POST", f"/v1/shelters/{s.shelter}/beds/{BED}/discharge", {"beds": 1})),
    ("POST", "/v1/shelters/{shelter_id}/beds/{bed_type}/verify"): Rule(
        MANAGERS, PLATFORM, lambda w, s, c: Call(
            "POST", f"/v1/shelters/{s.shelter}/beds/{BED}/verify")),
    ("POST", "/v1/shelters/{shelter_id}/beds/{bed_type}/surge"): Rule(
        MANAGERS, PLATFORM, lambda w, s, c: Call(
            "POST", f"/v1/shelters/{s.shelter}/beds/{BED}/surge", SURGE)),
    ("GET", "/v1/shelters/{shelter_id}/surge"): Rule(ALL, ALL, lambda w, s, c: Call(
        "GET", f"/v1/shelters/{s.shelter}/surge")),
    ("DELETE", "/v1/surge/{window_id}"): Rule(MANAGERS, PLATFORM, lambda w, s, c: Call(
        "DELETE", f"/v1/surge/{w.fresh_surge(s)}")),
    # Advocates and case managers hold beds anywhere; a coordinator only at its own shelter.
    ("POST", "/v1/shelters/{shelter_id}/holds"): Rule(ALL, WORKERS, lambda w, s, c: Call(
        "POST", f"/v1/shelters/{s.shelter}/holds",
        {"bed_type": BED, "beds": 1, "case_ref": "C-9"})),
    ("GET", "/v1/shelters/{shelter_id}/holds"): Rule(MANAGERS, PLATFORM,
                                                      lambda w, s, c: Call(
        "GET", f"/v1/shelters/{s.shelter}/holds")),
    # DESIGN: a hold belongs to the holding agency, so every role of it (a coordinator too)
    # may read, confirm and release it, besides the shelter's staff.
    ("GET", "/v1/holds"): Rule(ALL, None, lambda w, s, c: Call("GET", "/v1/holds?mine=true")),
    ("GET", "/v1/holds/{hold_id}"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/holds/{s.hold}")),
    ("POST", "/v1/holds/{hold_id}/confirm"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/holds/{w.fresh_hold(s)}/confirm")),
    ("DELETE", "/v1/holds/{hold_id}"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "DELETE", f"/v1/holds/{w.fresh_hold(s)}")),
    # interoperability
    ("POST", "/v1/interop/hsds/services"): Rule(PLATFORM, None, lambda w, s, c: Call(
        "POST", "/v1/interop/hsds/services?dry_run=true", [])),
    ("GET", "/v1/interop/hsds/services"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", "/v1/interop/hsds/services")),
    ("GET", "/v1/exports/hic.csv"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", "/v1/exports/hic.csv")),
    # cases
    ("POST", "/v1/cases"): Rule(WORKERS, None, lambda w, s, c: Call("POST", "/v1/cases", {
        "case_ref": _uniq("C"), "household": [{"age": 30, "gender": "female"}],
        "trafficking_type": "sex", "location": {"lat": 29.7, "lon": -95.3}})),
    # DESIGN: reads of a case and its safety plans are open to every role of the case's agency
    # (README: "read: the case's agency"), so a shelter coordinator of that agency sees them;
    # its screenings, releases, referrals and travel plans are for case workers only.
    ("GET", "/v1/cases"): Rule(ALL, None, lambda w, s, c: Call("GET", "/v1/cases")),
    ("GET", "/v1/cases/{case_id}"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/cases/{s.case}")),
    ("PATCH", "/v1/cases/{case_id}"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "PATCH", f"/v1/cases/{s.case}", {"urgency": 3}, w.if_match(f"/v1/cases/{s.case}"))),
    ("POST", "/v1/cases/{case_id}/close"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/cases/{w.fresh_case(s)}/close")),
    ("POST", "/v1/cases/{case_id}/purge"): Rule(
        frozenset({CM, AA, PA}), PLATFORM, lambda w, s, c: Call(
            "POST", f"/v1/cases/{w.fresh_case(s)}/purge")),
    # screenings and safety plans
    ("POST", "/v1/cases/{case_id}/screenings"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/cases/{s.case}/screenings", {"answers": PASSPORT_HELD})),
    ("GET", "/v1/cases/{case_id}/screenings"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/cases/{s.case}/screenings")),
    ("GET", "/v1/screenings/{screening_id}"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/screenings/{s.screening}")),
    ("POST", "/v1/safety-plans"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", "/v1/safety-plans",
        {"case_id": s.case, "screening_id": s.screening, "shelters": []})),
    # DESIGN: as for cases, plan reads are for the whole agency (see GET /v1/cases).
    ("GET", "/v1/cases/{case_id}/safety-plans"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/cases/{s.case}/safety-plans")),
    ("GET", SP): Rule(ALL, PLATFORM, lambda w, s, c: Call("GET", f"/v1/safety-plans/{s.plan}")),
    ("GET", SP + "/render"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/safety-plans/{s.plan}/render?format=txt")),
    ("PATCH", SP + "/steps/{step_id}"): Rule(WORKERS, PLATFORM, _patch_step),
    ("POST", SP + "/steps"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/safety-plans/{s.plan}/steps", {"section": "money", "text": "Save cash"},
        w.if_match(f"/v1/safety-plans/{s.plan}"))),
    ("DELETE", SP + "/steps/{step_id}"): Rule(WORKERS, PLATFORM, _remove_step),
    ("GET", SP + "/revisions"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/safety-plans/{s.plan}/revisions")),
    ("GET", SP + "/revisions/{revision}"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/safety-plans/{s.plan}/revisions/1")),
    ("POST", SP + "/inputs"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/safety-plans/{s.plan}/inputs", {"code_word": "maple"})),
    ("POST", SP + "/proposals"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/safety-plans/{s.plan}/proposals", {"screening_id": s.screening2})),
    ("GET", SP + "/proposals/{proposal_id}"): Rule(ALL, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/safety-plans/{s.plan}/proposals/{s.proposal}")),
    ("POST", SP + "/proposals/{proposal_id}/apply"): Rule(WORKERS, PLATFORM, _apply),
    # matching
    ("POST", "/v1/matches"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", "/v1/matches", {"case_id": s.case, "limit": 3})),
    ("POST", "/v1/matches/batch"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", "/v1/matches/batch", {"case_ids": [s.case], "options": {"time_limit_s": 1}})),
    # travel
    ("GET", "/v1/transport/feeds"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", "/v1/transport/feeds")),
    ("POST", "/v1/itineraries/search"): Rule(WORKERS, None, lambda w, s, c: Call(
        "POST", "/v1/itineraries/search", SEARCH)),
    ("POST", "/v1/travel-plans"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", "/v1/travel-plans",
        {"case_id": s.case, "itinerary_id": w.itinerary_id(c)})),
    ("GET", "/v1/travel-plans/overdue-check-ins"): Rule(WORKERS, None, lambda w, s, c: Call(
        "GET", "/v1/travel-plans/overdue-check-ins")),
    ("GET", "/v1/travel-plans"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/travel-plans?case_id={s.case}")),
    ("GET", "/v1/travel-plans/{plan_id}"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/travel-plans/{s.travel}")),
    ("POST", "/v1/travel-plans/{plan_id}/status"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/travel-plans/{w.fresh_travel(s)}/status", {"status": "cancelled"})),
    ("POST", "/v1/travel-plans/{plan_id}/check-ins/{check_in_id}"): Rule(
        WORKERS, PLATFORM, _check_in),
    ("GET", "/v1/alerts"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/alerts?case_id={s.case}&open=true")),
    ("POST", "/v1/alerts/{alert_id}/acknowledge"): Rule(WORKERS, PLATFORM, _alert),
    ("POST", "/v1/travel/allocate"): Rule(frozenset({CM, AA, PA}), PLATFORM, lambda w, s, c: Call(
        "POST", "/v1/travel/allocate", _allocate(s))),
    ("GET", "/v1/travel/allocations/{allocation_id}"): Rule(
        frozenset({CM, AA, PA}), PLATFORM, lambda w, s, c: Call(
            "GET", f"/v1/travel/allocations/{_allocation(w, s, c)}")),
    ("POST", "/v1/travel/allocations/{allocation_id}/commit"): Rule(
        frozenset({CM, AA, PA}), PLATFORM, lambda w, s, c: Call(
            "POST", f"/v1/travel/allocations/{_allocation(w, s, c)}/commit")),
    ("POST", "/v1/return-plans/optimise"): Rule(frozenset({CM, AA, PA}), PLATFORM,
                                                lambda w, s, c: Call(
        "POST", "/v1/return-plans/optimise", _optimise(s))),
    ("GET", "/v1/return-plans/{plan_id}"): Rule(frozenset({CM, AA, PA}), PLATFORM,
                                                lambda w, s, c: Call(
        "GET", f"/v1/return-plans/{_return_plan(w, s, c)}")),
    ("POST", "/v1/return-plans/{plan_id}/accept"): Rule(frozenset({CM, AA, PA}), PLATFORM,
                                                        lambda w, s, c: Call(
        "POST", f"/v1/return-plans/{_return_plan(w, s, c)}/accept", {})),
    ("POST", "/v1/return-plans/realtime"): Rule(frozenset({CM, AA, PA}), None,
                                                lambda w, s, c: Call(
        "POST", "/v1/return-plans/realtime", _feed())),
    ("GET", "/v1/return-plans/disruptions"): Rule(frozenset({CM, AA, PA}), None,
                                                  lambda w, s, c: Call(
        "GET", "/v1/return-plans/disruptions")),
    ("GET", "/v1/return-plans/disruptions/{disruption_id}"): Rule(
        frozenset({CM, AA, PA}), PLATFORM, lambda w, s, c: Call(
            "GET", f"/v1/return-plans/disruptions/{_disruption(w, s, c)}")),
    ("POST", "/v1/return-plans/disruptions/{disruption_id}/proposals"): Rule(
        frozenset({CM, AA, PA}), PLATFORM, lambda w, s, c: Call(
            "POST", f"/v1/return-plans/disruptions/{_disruption(w, s, c)}/proposals")),
    ("POST", "/v1/return-plans/disruptions/{disruption_id}/proposals/{proposal_id}/accept"):
        Rule(frozenset({CM, AA, PA}), PLATFORM, lambda w, s, c: Call(
            "POST", f"/v1/return-plans/disruptions/{_disruption(w, s, c, proposal=True)}"
                    "/proposals/0/accept")),
    ("POST", "/v1/return-plans/disruptions/{disruption_id}/reject"): Rule(
        frozenset({CM, AA, PA}), PLATFORM, lambda w, s, c: Call(
            "POST", f"/v1/return-plans/disruptions/{_disruption(w, s, c)}/reject")),
    ("GET", "/v1/funding-sources"): Rule(frozenset({CM, AA, PA}), None, lambda w, s, c: Call(
        "GET", "/v1/funding-sources")),
    ("POST", "/v1/funding-sources"): Rule(ADMINS, PLATFORM, lambda w, s, c: Call(
        "POST", "/v1/funding-sources",
        {"agency_id": s.agency, "name": _uniq("fund"), "budget_cents": 1_000})),
    ("PATCH", "/v1/funding-sources/{source_id}"): Rule(ADMINS, PLATFORM, lambda w, s, c: Call(
        "PATCH", f"/v1/funding-sources/{_funding_source(w, s, c)}", {"budget_cents": 60_000})),
    # the partner directory, releases and referrals
    ("GET", "/v1/directory/services"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", "/v1/directory/services?state=TX")),
    ("GET", "/v1/directory/organizations"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", "/v1/directory/organizations?state=TX")),
    ("POST", "/v1/directory/organizations"): Rule(PLATFORM, None, lambda w, s, c: Call(
        "POST", "/v1/directory/organizations", {
            "name": _uniq("org"), "lat": 29.7, "lon": -95.3, "city": "Houston", "state": "TX",
            "timezone": "America/Chicago", "services": [{"service_type": "legal", "name": "x"}],
            "areas": [{"kind": "state", "state": "TX"}]})),
    ("GET", "/v1/directory/organizations/{organization_id}"): Rule(
        ALL, None, lambda w, s, c: Call("GET", f"/v1/directory/organizations/{w.org}")),
    ("POST", "/v1/directory/hsds"): Rule(PLATFORM, None, lambda w, s, c: Call(
        "POST", "/v1/directory/hsds?dry_run=true", [])),
    ("GET", "/v1/directory/hsds"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", "/v1/directory/hsds")),
    ("POST", "/v1/cases/{case_id}/releases"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/cases/{s.case}/releases",
        {"recipient_id": w.org, "fields": ["household"], "purpose": "legal help"})),
    ("GET", "/v1/cases/{case_id}/releases"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/cases/{s.case}/releases")),
    ("POST", "/v1/releases/{release_id}/revoke"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/releases/{w.fresh_release(s)}/revoke")),
    ("POST", "/v1/referrals"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", "/v1/referrals", {"case_id": s.case, "recipient_id": w.org,
                                  "service_type": "legal", "fields": []})),
    ("GET", "/v1/referrals"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/referrals?case_id={s.case}")),
    ("GET", "/v1/referrals/{referral_id}"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/referrals/{s.referral}")),
    ("PATCH", "/v1/referrals/{referral_id}"): Rule(WORKERS, PLATFORM, _patch_referral),
    # tips and statistics
    ("POST", "/v1/tips"): Rule(WORKERS, None, lambda w, s, c: Call("POST", "/v1/tips", {
        "trafficking_type": "labor", "locations": [{"city": "Houston", "state": "TX"}]})),
    # DESIGN: a tip is for its receiving agency only, agency admins of other agencies included
    # (docs/tips_and_stats.md: tips name places and callers); the platform admin, the
    # hotline's operator, sees and does everything, audited.
    ("GET", "/v1/tips/{tip_id}"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "GET", f"/v1/tips/{s.tip}")),
    ("POST", "/v1/tips/{tip_id}/route"): Rule(WORKERS, PLATFORM, lambda w, s, c: Call(
        "POST", f"/v1/tips/{s.tip}/route")),
    # Statistics: a platform admin publishes a closed period; anyone reads what is published.
    ("GET", "/v1/stats/releases"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", "/v1/stats/releases")),
    ("POST", "/v1/stats/releases"): Rule(PLATFORM, None, lambda w, s, c: Call(
        "POST", "/v1/stats/releases", {"period": _next_period()})),
    ("GET", "/v1/stats/releases/{period}"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", f"/v1/stats/releases/{_released(w)}")),
    ("GET", "/v1/stats/releases/{period}/csv"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", f"/v1/stats/releases/{_released(w)}/csv")),
    ("GET", "/v1/stats/releases/{period}/charts/{name}"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", f"/v1/stats/releases/{_released(w)}/charts/monthly_trends?format=svg")),
    # messages (issue 21): every role of the agency sees delivery state (bodies only some)
    ("GET", "/v1/messages"): Rule(ALL, None, lambda w, s, c: Call("GET", "/v1/messages")),
    ("GET", "/v1/messages/{message_id}"): Rule(ALL, PLATFORM, _message),
    ("POST", "/v1/messages/{message_id}/retry"): Rule(ADMINS, PLATFORM, _retry),
    ("GET", "/v1/delivery/endpoints"): Rule(ALL, None, lambda w, s, c: Call(
        "GET", "/v1/delivery/endpoints")),
    ("POST", "/v1/delivery/endpoints"): Rule(ADMINS, PLATFORM, lambda w, s, c: Call(
        "POST", "/v1/delivery/endpoints", {
            "channel": "webhook", "address": "https://desk.example.org/hook",
            "secret": "0123456789abcdef", "agency_id": s.agency})),
    ("POST", SP + "/send-sms"): Rule(WORKERS, PLATFORM, _send_sms),
}


def api_routes(services: Services) -> set[tuple[str, str]]:
    app = create_app(services=services)
    found: set[tuple[str, str]] = set()
    for ctx in iter_route_contexts(app.routes):
        path = ctx.path or ""
        if isinstance(ctx.original_route, APIRoute) and path.startswith("/v1/"):
            found |= {(method, path) for method in ctx.methods or ()}
    return found


def test_every_route_is_in_the_matrix(services: Services) -> None:
    routes = api_routes(services)
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, ("routes missing from MATRIX in tests/api/test_authz_matrix.py; add "
                         "an entry (who may act on own/other agency's object, and how to call "
                         "it) for each: " + ", ".join(f"{m} {p}" for m, p in missing))
    assert not stale, "MATRIX entries for routes that no longer exist: " + ", ".join(
        f"{m} {p}" for m, p in stale)


@pytest.fixture
def world(services: Services, make: AccountFactory) -> World:
    # Many one-shot holds and many unauthenticated calls: lift the per-account hold cap and
    # the failed-authentication throttle, which have tests of their own.
    roomy = Services(settings=services.settings.model_copy(update={
        "max_active_holds": 100_000, "auth_failure_limit": 100_000}),
        db=services.db, cipher=services.cipher,
        itinerary_ids=services.itinerary_ids,
        timetables=services.timetables)
    load_year_round(services)  # travel plans are made from a search's itinerary ids
    client = TestClient(create_app(services=roomy), raise_server_exceptions=False)
    return World(client, make)


SUCCESS = frozenset(range(200, 300))
# Objects whose very existence is private to their agency (shelters and the directory are not).
PRIVATE = ("/v1/accounts/", "/v1/tokens/", "/v1/holds/", "/v1/cases", "/v1/screenings/",
           "/v1/safety-plans", "/v1/matches", "/v1/travel-plans", "/v1/releases/",
           "/v1/referrals", "/v1/tips/", "/v1/alerts",
           "/v1/travel/alloc", "/v1/funding-sources", "/v1/return-plans/", "/v1/messages")


def _expected(path: str, side: str, allowed: bool, allowed_own: bool) -> frozenset[int]:
    if allowed:
        return SUCCESS
    # A role that may act on its own agency's private object must not learn, from a 403, that
    # another agency's object with that id exists: it gets the 404 of a missing one.
    if side == "other" and allowed_own and path.startswith(PRIVATE):
        return frozenset({404})
    return frozenset({403, 404})


def test_authorization_matrix(world: World) -> None:
    failures: list[str] = []
    for (method, path), rule in MATRIX.items():
        call = rule.build(world, world.a, world.a.people[PA])
        anonymous = world.send(None, call)
        if anonymous.status_code != 401:
            failures.append(f"{method} {path} without a token: {anonymous.status_code}")
        if anonymous.headers.get("cache-control") != "no-store":
            failures.append(f"{method} {path} without a token: not Cache-Control: no-store")
        sides = [("own", world.a, rule.own)]
        if rule.other is not None:
            sides.append(("other", world.b, rule.other))
        for label, side, allowed in sides:
            for role in ROLES:
                caller = world.a.people[role]
                response = world.send(caller, rule.build(world, side, caller))
                want = _expected(path, label, role in allowed, role in rule.own)
                if response.headers.get("cache-control") != "no-store":
                    failures.append(f"{method} {path} as {role}: not Cache-Control: no-store")
                if response.status_code not in want:
                    failures.append(
                        f"{method} {path} as {role} on {label} object: "
                        f"{response.status_code}, want {sorted(want)[:3]}: "
                        f"{response.text[:160]}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures)
