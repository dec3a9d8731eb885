"""Use cases of tips: take a tip, route it across jurisdictions, read it back.

A tip is routed as it is taken (one transaction: the tip, its states, the decision and both
audit rows commit together), and can be routed again later (`route_tip`, e.g. after the
directory changed); each decision is kept. Places are resolved to state, city and county
(a bare point takes its state and nearest city from GeoNames, as directory search does), the
directory's law-enforcement contacts serving each place are looked up by level, and the pure
rules in `network.tips.routing` decide whom to notify and what to share. The time from the tip's
`received_at` to the decision is recorded on both. Only advocates, case managers and admins
of the receiving agency see a tip; anyone else gets the same 404 as for a missing one.
A decision that notifies enqueues one message per contact (`delivery.outbox`) in the same
transaction, carrying only the decision's shared fields (`_share`), nothing the caller did not
consent to.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.gazetteer import STATE_FROM_POINT_KM, nearest_city
from core.models import Role
from core.principal import Principal
from delivery import outbox
from delivery.models import MessageKind
from network.directory.models import LawLevel, Organization, OrganizationKind
from network.directory.search import DirectoryQuery, find_matches
from network.errors import InvalidNetwork, TipNotFound
from network.tips.models import (
    JurisdictionPublic,
    NoticePublic,
    RoutingPublic,
    Tip,
    TipConsent,
    TipCreate,
    TipDetails,
    TipLocation,
    TipPublic,
    TipRouting,
    TipState,
    TipStatus,
)
from network.tips.routing import (
    Consent,
    Contact,
    Decision,
    Level,
    RoutedContacts,
    ShareField,
    TipFacts,
    TipPlace,
    decide,
)

LOCATIONS_FIELD = "tip.locations"
DETAILS_FIELD = "tip.details"
DECISION_FIELD = "tip.decision"
TIP_WORKERS = (Role.ADVOCATE, Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
CITY_FROM_POINT_KM = 25.0


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def resolve_place(location: TipLocation, index: int) -> TipPlace:
    """State, city and county of one location; 422 naming it if it is not in the US."""
    if location.state is not None:
        return TipPlace(state=location.state, city=location.city, county=location.county)
    assert location.lat is not None and location.lon is not None
    near = nearest_city(location.lat, location.lon, CITY_FROM_POINT_KM)
    if near is not None:
        return TipPlace(state=near.state, city=near.name)
    wide = nearest_city(location.lat, location.lon, STATE_FROM_POINT_KM)
    if wide is None:
        raise InvalidNetwork(f"locations[{index}]", "this point is not in a known US state")
    return TipPlace(state=wide.state)


def _level_contacts(session: Session, query: DirectoryQuery, level: LawLevel,
                    names: dict[int, Organization]) -> tuple[Contact, ...]:
    matches = find_matches(session, replace(query, law_level=level))
    missing = [m.organization_id for m in matches if m.organization_id not in names]
    if missing:
        for org in session.exec(select(Organization).where(col(Organization.id).in_(missing))):
            assert org.id is not None
            names[org.id] = org
    out = []
    for match in matches:
        org = names[match.organization_id]
        assert org.id is not None and org.law_body is not None
        out.append(Contact(id=org.id, name=org.name, level=Level(level.value),
                           body=str(org.law_body), state=org.state))
    return tuple(out)


def directory_candidates(session: Session, location: TipLocation, place: TipPlace,
                         names: dict[int, Organization]) -> RoutedContacts:
    """Law-enforcement contacts serving one place, by level (queries the directory)."""
    law = OrganizationKind.LAW_ENFORCEMENT
    local_query = DirectoryQuery(lat=location.lat, lon=location.lon, city=place.city,
                                 county=place.county, state=place.state, kind=law)
    state_query = DirectoryQuery(state=place.state, kind=law)
    return RoutedContacts(
        place=place,
        local=_level_contacts(session, local_query, LawLevel.LOCAL, names),
        state=_level_contacts(session, state_query, LawLevel.STATE, names),
        federal=_level_contacts(session, state_query, LawLevel.FEDERAL, names),
    )


def _visible(session: Session, actor: Principal, tip_id: int) -> Tip:
    tip = session.get(Tip, tip_id)
    # A platform admin (or the system) reads any tip; everyone else only their agency's.
    allowed = actor.is_platform_admin or (actor.role in TIP_WORKERS and tip is not None
                                  and actor.agency_id == tip.agency_id)
    if tip is None or not allowed:
        raise TipNotFound(f"tip {tip_id} not found")
    return tip


def _locations(cipher: FieldCipher, tip: Tip) -> list[TipLocation]:
    raw = json.loads(cipher.open(tip.locations_sealed, field=LOCATIONS_FIELD))
    return [TipLocation.model_validate(item) for item in raw]


def _details(cipher: FieldCipher, tip: Tip) -> TipDetails:
    return TipDetails.model_validate_json(cipher.open(tip.details_sealed, field=DETAILS_FIELD))


def _route(session: Session, actor: Principal, cipher: FieldCipher, tip: Tip) -> TipRouting:
    assert tip.id is not None
    locations = _locations(cipher, tip)
    places = [resolve_place(loc, i) for i, loc in enumerate(locations)]
    names: dict[int, Organization] = {}
    candidates = [directory_candidates(session, loc, place, names)
                  for loc, place in zip(locations, places, strict=True)]
    facts = TipFacts(
        trafficking_type=str(tip.trafficking_type), places=tuple(places),
        minors_involved=tip.minors_involved, harm_imminent=tip.harm_imminent,
        consent=Consent(share=tip.consent_share,
                        fields=frozenset(ShareField(f) for f in tip.consent_fields)))
    decision = decide(facts, candidates)
    now = utcnow()
    seconds = max(0.0, (now - tip.received_at).total_seconds())
    row = TipRouting(
        tip_id=tip.id, agency_id=tip.agency_id, basis=decision.basis, notify=decision.notify,
        shared_fields=[f.value for f in decision.shared_fields],
        contact_ids=[n.contact.id for n in decision.contacts if decision.notify],
        decision_sealed=cipher.seal(_dump(_decision_json(decision)), field=DECISION_FIELD),
        seconds_to_route=seconds, decided_by=actor.account_id, decided_at=now)
    session.add(row)
    if decision.notify and tip.routed_at is None:
        tip.routed_at, tip.seconds_to_route = now, seconds
    if tip.routed_at is None:
        tip.status = TipStatus.WITHHELD
    else:
        tip.status = TipStatus.ROUTED
    session.add(tip)
    session.flush()
    assert row.id is not None
    # Only ids, levels and field names: the reasons name places and stay sealed.
    audit.record(session, actor, action="tip.route", object_type="tip", object_id=tip.id,
                 purpose="tip_routing",
                 details={"routing_id": row.id, "basis": decision.basis.value,
                          "notify": decision.notify, "contact_ids": row.contact_ids,
                          "levels": sorted({n.contact.level.value for n in decision.contacts}),
                          "shared_fields": row.shared_fields, "states": len(set(
                              p.state for p in places)),
                          "seconds_to_route": round(seconds, 3)})
    if row.notify:
        _enqueue_notices(session, cipher, tip, row, decision, locations)
    return row


def _enqueue_notices(session: Session, cipher: FieldCipher, tip: Tip, row: TipRouting,
                     decision: Decision, locations: list[TipLocation]) -> None:
    """One message per notified contact, carrying the decision's shared fields only."""
    assert tip.id is not None and row.id is not None
    jurisdictions = [JurisdictionPublic(level=j.level, name=j.name)
                     for j in decision.jurisdictions]
    shared = _share(tip, row, locations, _details(cipher, tip), jurisdictions)
    for notice in decision.contacts:
        body = {"subject": "Human trafficking tip referred by the national hotline",
                # the reasons name places, which the caller may not have agreed to share
                "text": f"Homeward tip {tip.id} is referred to {notice.contact.name}; "
                        "the shared details follow.",
                "data": {"tip_id": tip.id, "routing_id": row.id, "shared": shared}}
        outbox.enqueue(session, cipher=cipher, kind=MessageKind.TIP_ROUTED.value,
                       to=outbox.Recipient(organization_id=notice.contact.id), body=body,
                       agency_id=tip.agency_id, source_type="tip_routing", source_id=row.id)


def _decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "jurisdictions": [{"level": j.level.value, "name": j.name}
                          for j in decision.jurisdictions],
        "contacts": [{"organization_id": n.contact.id, "name": n.contact.name,
                      "level": n.contact.level.value, "body": n.contact.body,
                      "state": n.contact.state, "reasons": list(n.reasons)}
                     for n in decision.contacts],
        "reasons": list(decision.reasons),
    }


def _share(tip: Tip, row: TipRouting, locations: list[TipLocation], details: TipDetails,
           jurisdictions: list[JurisdictionPublic]) -> dict[str, Any]:
    if not row.notify:
        return {}
    values: dict[str, Any] = {
        ShareField.TRAFFICKING_TYPE: str(tip.trafficking_type),
        ShareField.JURISDICTIONS: [j.name for j in jurisdictions],
        ShareField.VENUE: str(tip.venue),
        ShareField.MINORS_INVOLVED: tip.minors_involved,
        ShareField.HARM_IMMINENT: tip.harm_imminent,
        ShareField.LOCATIONS: [loc.model_dump(exclude_none=True) for loc in locations],
        ShareField.DESCRIPTION: details.description,
        ShareField.CALLER_CONTACT: details.caller_contact,
        ShareField.VICTIM_DETAILS: details.victim_details,
        ShareField.SUSPECT_DETAILS: details.suspect_details,
    }
    return {name: values[ShareField(name)] for name in row.shared_fields}


def _public(session: Session, cipher: FieldCipher, tip: Tip) -> TipPublic:
    assert tip.id is not None
    locations = _locations(cipher, tip)
    details = _details(cipher, tip)
    states = list(session.exec(select(TipState.state).where(TipState.tip_id == tip.id)
                               .order_by(col(TipState.state))))
    latest = session.exec(select(TipRouting).where(TipRouting.tip_id == tip.id)
                          .order_by(col(TipRouting.id).desc())).first()
    routing = None
    if latest is not None:
        assert latest.id is not None
        sealed = json.loads(cipher.open(latest.decision_sealed, field=DECISION_FIELD))
        jurisdictions = [JurisdictionPublic.model_validate(j) for j in sealed["jurisdictions"]]
        routing = RoutingPublic(
            id=latest.id, basis=latest.basis, notify=latest.notify,
            shared_fields=[ShareField(f) for f in latest.shared_fields],
            jurisdictions=jurisdictions,
            contacts=[NoticePublic.model_validate(c) for c in sealed["contacts"]],
            reasons=sealed["reasons"],
            share=_share(tip, latest, locations, details, jurisdictions),
            seconds_to_route=latest.seconds_to_route, decided_at=latest.decided_at)
    return TipPublic(
        id=tip.id, agency_id=tip.agency_id, trafficking_type=tip.trafficking_type,
        locations=locations, venue=tip.venue, minors_involved=tip.minors_involved,
        harm_imminent=tip.harm_imminent,
        consent=TipConsent(share_with_law_enforcement=tip.consent_share,
                          fields=[ShareField(f) for f in tip.consent_fields]),
        states=states, status=tip.status, received_at=tip.received_at,
        routed_at=tip.routed_at, seconds_to_route=tip.seconds_to_route, routing=routing,
        **details.model_dump())


def create_tip(session: Session, *, actor: Principal, cipher: FieldCipher,
               data: TipCreate) -> TipPublic:
    """Take a tip and route it at once (documented in docs/tips_and_stats.md)."""
    actor.require_role(*TIP_WORKERS)
    if actor.agency_id is None:
        raise InvalidNetwork("agency_id", "the system account belongs to no agency")
    now = utcnow()
    received = data.received_at or now
    if received.tzinfo is None:
        raise InvalidNetwork("received_at", "give a time zone (e.g. Z or +00:00)")
    if received > now + timedelta(minutes=5):
        raise InvalidNetwork("received_at", "received_at is in the future")
    places = [resolve_place(loc, i) for i, loc in enumerate(data.locations)]
    details = TipDetails(description=data.description, caller_contact=data.caller_contact,
                         victim_details=data.victim_details,
                         suspect_details=data.suspect_details)
    tip = Tip(
        agency_id=actor.agency_id, trafficking_type=data.trafficking_type, venue=data.venue,
        minors_involved=data.minors_involved, harm_imminent=data.harm_imminent,
        consent_share=data.consent.share_with_law_enforcement,
        consent_fields=sorted({f.value for f in data.consent.fields}),
        locations_sealed=cipher.seal(
            _dump([loc.model_dump(mode="json") for loc in data.locations]),
            field=LOCATIONS_FIELD),
        details_sealed=cipher.seal(details.model_dump_json(), field=DETAILS_FIELD),
        received_at=received, created_by=actor.account_id)
    session.add(tip)
    session.flush()
    assert tip.id is not None
    session.add_all([TipState(tip_id=tip.id, state=s) for s in dict.fromkeys(
        p.state for p in places)])
    audit.record(session, actor, action="tip.create", object_type="tip", object_id=tip.id,
                 purpose="tip_intake",
                 details={"trafficking_type": data.trafficking_type.value,
                          "venue": data.venue.value, "minors_involved": data.minors_involved,
                          "harm_imminent": data.harm_imminent,
                          "consent_fields": tip.consent_fields,
                          "locations": len(data.locations)})
    _route(session, actor, cipher, tip)
    session.commit()
    return _public(session, cipher, tip)


def route_tip(session: Session, *, actor: Principal, cipher: FieldCipher,
              tip_id: int) -> TipPublic:
    """Route a stored tip again (a new decision; the first notifying one sets `routed_at`)."""
    tip = _visible(session, actor, tip_id)
    _route(session, actor, cipher, tip)
    session.commit()
    return _public(session, cipher, tip)


def get_tip(session: Session, *, actor: Principal, cipher: FieldCipher,
            tip_id: int) -> TipPublic:
    tip = _visible(session, actor, tip_id)
    audit.record(session, actor, action="tip.read", object_type="tip", object_id=tip_id,
                 purpose="tip_routing")
    out = _public(session, cipher, tip)
    session.commit()
    return out
