"""The referral recipient picker on the case page: the directory searched as `GET
/v1/directory/organizations` searches it, then narrowed by a part of the name.

The search runs through the directory's own use case (`search_organizations`), so it shows
exactly what the API shows any signed-in account (the directory is the agencies' shared,
public list; nothing about other agencies' cases). Where defaults to the case's own place
(its city and state, else its point); service type and language go to the directory query;
the name narrows its first 100 hits. Results are radio buttons inside the referral form, so
picking one is a keyboard and screen-reader control like any other; with htmx only the
results are swapped (and announced), without it the case page comes back with them. The
route is `GET /web/cases/{id}/recipients` (`api/web/case_actions.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from api.web import wording
from core.errors import DomainError, RuleBroken
from core.languages import normalise_language
from logistics.cases.models import CasePublic
from network.directory.models import ServiceType
from network.directory.search import DirectoryQuery, OrganizationHit, search_organizations

SHOWN = 10
SCANNED = 100  # the directory's own page limit


@dataclass
class RecipientSearch:
    """What was searched (kept in the form) and what was found."""

    name: str = ""
    city: str = ""
    state: str = ""
    service: str = ""
    language: str = ""
    searched: bool = False
    hits: list[OrganizationHit] = field(default_factory=list)
    more: bool = False
    error: wording.Phrase | None = None


def defaults(case: CasePublic) -> RecipientSearch:
    """A new search: the case's own city and state (the point's state is found by the query)."""
    return RecipientSearch(city=case.location.city or "", state=case.location.state or "")


def search(session: Session, case: CasePublic, wanted: RecipientSearch) -> RecipientSearch:
    wanted.searched = True
    try:
        language = normalise_language(wanted.language) if wanted.language.strip() else None
    except RuleBroken as exc:
        wanted.error = wording.Phrase(str(exc), context=f"rule:{exc.code}")
        return wanted
    try:
        service = ServiceType(wanted.service) if wanted.service else None
    except ValueError:
        wanted.error = wording.Phrase("unknown service type")
        return wanted
    city, state = wanted.city.strip() or None, wanted.state.strip().upper() or None
    lat = lon = None
    if city is None and state is None:
        lat, lon = case.location.lat, case.location.lon
    query = DirectoryQuery(lat=lat, lon=lon, city=city, state=state,
                           service_type=service,
                           language=language, limit=SCANNED)
    try:
        page = search_organizations(session, query=query)
    except DomainError as exc:
        wanted.error = wording.from_domain(exc)
        return wanted
    needle = wanted.name.strip().casefold()
    hits = [h for h in page.items if needle in h.organization.name.casefold()]
    wanted.hits, wanted.more = hits[:SHOWN], len(hits) > SHOWN
    return wanted
