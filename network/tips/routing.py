"""Tip routing rules (pure): which jurisdictions a tip touches, whom to notify, what to share.

Inputs are frozen values: the tip's facts (places already resolved to state, city, county),
the caller's consent, and the law-enforcement contacts the directory says serve each place.
The output is a `Decision` whose every part carries its reasons in plain words, so the audit
log and the person reading it see why each contact is on the list and why each field is (or
is not) shared.

Who: for every place, local contacts (police, sheriff) of that place, then the state's (the
attorney general, the state police task force), then federal offices covering the state (FBI
field office, HSI office). Federal contacts join when the tip crosses state lines (always),
when a minor is involved (federal offences with federal child-exploitation task forces), or
when a place has no local or state contact on file. Order: local, state, federal; within a
level, by the order of the places, then by name; a contact serving two places is listed once
with both reasons.

What: with the caller's consent, exactly the fields the consent names; without consent, only
where a minor is involved or harm is imminent (mandatory reporting), and then only the
minimum (`MINIMUM_FIELDS`: no caller, no free text, no exact place); otherwise nothing leaves
the hotline and no one is notified. Consent that names fewer fields than the mandatory minimum
is topped up to it when the minimum applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Level(StrEnum):
    LOCAL = "local"
    STATE = "state"
    FEDERAL = "federal"


LEVEL_ORDER = {Level.LOCAL: 0, Level.STATE: 1, Level.FEDERAL: 2}


class Basis(StrEnum):
    CONSENT = "consent"
    MANDATORY = "mandatory_reporting"
    CONSENT_AND_MANDATORY = "consent_and_mandatory_reporting"
    NONE = "none"


class ShareField(StrEnum):
    """What a tip share can contain; the first five make up the mandatory minimum."""

    TRAFFICKING_TYPE = "trafficking_type"
    JURISDICTIONS = "jurisdictions"  # city, county and state names only
    VENUE = "venue"
    MINORS_INVOLVED = "minors_involved"
    HARM_IMMINENT = "harm_imminent"
    LOCATIONS = "locations"  # exact points and place names as the caller gave them
    DESCRIPTION = "description"
    CALLER_CONTACT = "caller_contact"
    VICTIM_DETAILS = "victim_details"
    SUSPECT_DETAILS = "suspect_details"


MINIMUM_FIELDS: tuple[ShareField, ...] = (
    ShareField.TRAFFICKING_TYPE, ShareField.JURISDICTIONS, ShareField.VENUE,
    ShareField.MINORS_INVOLVED, ShareField.HARM_IMMINENT,
)


@dataclass(frozen=True, slots=True)
class TipPlace:
    """One location of a tip, resolved: `state` always, city and county when known."""

    state: str
    city: str | None = None
    county: str | None = None

    @property
    def label(self) -> str:
        local = self.city or (f"{self.county} County" if self.county else None)
        return f"{local}, {self.state}" if local else self.state


@dataclass(frozen=True, slots=True)
class Contact:
    """A law-enforcement contact from the directory, with the places (indexes) it serves."""

    id: int
    name: str
    level: Level
    body: str
    state: str


@dataclass(frozen=True, slots=True)
class RoutedContacts:
    """The directory's answer for one place: contacts serving it, by level."""

    place: TipPlace
    local: tuple[Contact, ...] = ()
    state: tuple[Contact, ...] = ()
    federal: tuple[Contact, ...] = ()


@dataclass(frozen=True, slots=True)
class Consent:
    share: bool
    fields: frozenset[ShareField] = frozenset()


@dataclass(frozen=True, slots=True)
class TipFacts:
    trafficking_type: str
    places: tuple[TipPlace, ...]
    minors_involved: bool
    harm_imminent: bool
    consent: Consent


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    level: Level
    name: str  # "Houston, TX", "TX", "federal (TX)"


@dataclass(frozen=True, slots=True)
class Notice:
    contact: Contact
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    jurisdictions: tuple[Jurisdiction, ...]
    contacts: tuple[Notice, ...]  # ordered local, state, federal
    notify: bool
    basis: Basis
    shared_fields: tuple[ShareField, ...]
    reasons: tuple[str, ...] = field(default=())


def states_of(places: Sequence[TipPlace]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.state for p in places))


def sharing(facts: TipFacts) -> tuple[Basis, tuple[ShareField, ...], list[str]]:
    """The legal basis for a share, the fields it may carry, and why."""
    mandatory = facts.minors_involved or facts.harm_imminent
    why_mandatory = " and ".join(
        part for part, on in (("a minor is involved", facts.minors_involved),
                              ("harm is imminent", facts.harm_imminent)) if on)
    consented = facts.consent.fields if facts.consent.share else frozenset()
    reasons: list[str] = []
    if consented:
        reasons.append("the caller consented to share: "
                       + ", ".join(f.value for f in ShareField if f in consented))
    if mandatory:
        reasons.append(f"mandatory reporting applies because {why_mandatory}; "
                       "the minimum is shared: " + ", ".join(f.value for f in MINIMUM_FIELDS))
    if consented and mandatory:
        basis = Basis.CONSENT_AND_MANDATORY
        fields = consented | frozenset(MINIMUM_FIELDS)
    elif consented:
        basis, fields = Basis.CONSENT, consented
    elif mandatory:
        basis, fields = Basis.MANDATORY, frozenset(MINIMUM_FIELDS)
    else:
        reasons.append("no consent to share, no minor involved and no imminent harm: "
                       "nothing leaves the hotline")
        return Basis.NONE, (), reasons
    withheld = [f.value for f in ShareField if f not in fields]
    if withheld:
        reasons.append("withheld: " + ", ".join(withheld))
    return basis, tuple(f for f in ShareField if f in fields), reasons


def _federal_reasons(facts: TipFacts, candidates: Sequence[RoutedContacts]) -> list[str]:
    states = states_of(facts.places)
    why = []
    if len(states) > 1:
        why.append(f"the case crosses state lines ({', '.join(states)})")
    if facts.minors_involved:
        why.append("a minor is involved (federal child-exploitation jurisdiction)")
    for cand in candidates:
        if not cand.local and not cand.state:
            why.append(f"no local or state contact on file for {cand.place.label}")
    return why


def decide(facts: TipFacts, candidates: Sequence[RoutedContacts]) -> Decision:
    """The routing decision for a tip, given the directory's contacts for each of its places."""
    if not facts.places:
        raise ValueError("a tip needs at least one place")
    basis, fields, reasons = sharing(facts)
    federal_why = _federal_reasons(facts, candidates)
    jurisdictions: list[Jurisdiction] = []
    picked: dict[int, tuple[int, int, Contact, list[str]]] = {}

    def add(contact: Contact, place_index: int, why: str) -> None:
        known = picked.get(contact.id)
        if known is None:
            picked[contact.id] = (LEVEL_ORDER[contact.level], place_index, contact, [why])
        elif why not in known[3]:
            known[3].append(why)

    for index, cand in enumerate(candidates):
        place = cand.place
        if place.city or place.county:
            jurisdictions.append(Jurisdiction(Level.LOCAL, place.label))
        for contact in cand.local:
            add(contact, index, f"serves {place.label}")
        if not cand.local:
            reasons.append(f"no local contact on file for {place.label}; "
                           "the state's contacts cover it")
        for contact in cand.state:
            add(contact, index, f"state authority for {place.state}")
        if federal_why:
            for contact in cand.federal:
                add(contact, index, f"federal office covering {place.state}: "
                    + "; ".join(federal_why))
    for state in states_of(facts.places):
        jurisdictions.append(Jurisdiction(Level.STATE, state))
    if federal_why:
        jurisdictions.append(Jurisdiction(Level.FEDERAL,
                                          "federal (" + ", ".join(states_of(facts.places)) + ")"))
        reasons.append("federal contacts included: " + "; ".join(federal_why))
    else:
        reasons.append("one state, adults only, local or state contacts on file: "
                       "no federal contact needed")
    ordered = sorted(picked.values(), key=lambda item: (item[0], item[1], item[2].name,
                                                        item[2].id))
    notices = tuple(Notice(contact, tuple(why)) for _, _, contact, why in ordered)
    notify = basis is not Basis.NONE and bool(notices)
    if basis is not Basis.NONE and not notices:
        reasons.append("no law-enforcement contact on file for these places: nobody notified")
    return Decision(jurisdictions=tuple(_unique(jurisdictions)), contacts=notices,
                    notify=notify, basis=basis, shared_fields=fields, reasons=tuple(reasons))


def _unique(items: list[Jurisdiction]) -> list[Jurisdiction]:
    return list(dict.fromkeys(items))
