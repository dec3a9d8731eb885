"""Itinerary ids: the server's word that its search found an itinerary, for whom, until when.

Every itinerary `POST /v1/itineraries/search` returns carries an `itinerary_id`, and a travel
plan is made from that id alone, never from an itinerary a client writes. The id is stateless
(no table): a `TokenSealer` token (AES-256-GCM under a subkey of the server key) over a
compressed JSON payload holding

- the searching account's id, so another account's id is refused;
- the instant it expires (`HOMEWARD_ITINERARY_ID_MINUTES`, 30 by default);
- the search request itself, so that booking can run the same search again on the timetable
  stored then (`logistics/travel/plans.py`) instead of trusting an old answer;
- the SHA-256 of the itinerary's canonical JSON (legs, times, fares, carriers, stops), which
  picks the chosen itinerary out of that second answer.

The search request can hold a survivor's whereabouts (origin, places avoided), which is why
the token is encrypted and not only signed. A token that does not open, is cut, or was made
under another key or purpose is refused alike, with no hint of which check failed.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from core.crypto import TokenSealer
from logistics.errors import InvalidLogistics, ItineraryExpired
from logistics.travel.feed_models import ItineraryFound, ItineraryPublic, ItinerarySearchRequest

PURPOSE = "itinerary-id"
_FORMAT = 1
_UNKNOWN = ("not an itinerary id this server gave this account: search again and use an "
            "itinerary_id from the answer")


@dataclass(frozen=True)
class ItineraryIds:
    """The sealer and lifetime of itinerary ids, built once from the settings."""

    sealer: TokenSealer
    lifetime: timedelta

    @classmethod
    def from_key(cls, key: bytes, *, lifetime: timedelta) -> ItineraryIds:
        return cls(TokenSealer(key, purpose=PURPOSE), lifetime)


@dataclass(frozen=True)
class Voucher:
    """What an itinerary id vouches for, once opened and checked."""

    account_id: int
    expires_at: datetime
    search: ItinerarySearchRequest
    digest: str


def digest(itinerary: ItineraryPublic) -> str:
    """SHA-256 of the itinerary's canonical JSON (sorted keys, no spaces, wire names)."""
    canonical = json.dumps(ItineraryPublic.model_validate(itinerary.model_dump())
                           .model_dump(mode="json", by_alias=True),
                           sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def vouch(ids: ItineraryIds, *, account_id: int, search: ItinerarySearchRequest,
          itineraries: list[ItineraryPublic], now: datetime) -> list[ItineraryFound]:
    """Each itinerary with an id that the same account can turn into a plan until expiry."""
    query = search.model_dump(mode="json", by_alias=True)
    expires = int((now + ids.lifetime).timestamp())
    found = []
    for itinerary in itineraries:
        payload = {"f": _FORMAT, "a": account_id, "e": expires, "q": query,
                   "d": digest(itinerary)}
        token = ids.sealer.seal(zlib.compress(json.dumps(payload, separators=(",", ":"))
                                              .encode(), 9))
        found.append(ItineraryFound(**itinerary.model_dump(), itinerary_id=token))
    return found


def redeem(ids: ItineraryIds, token: str, *, account_id: int | None,
           now: datetime) -> Voucher:
    """The checked voucher: 422 (`itinerary_id`) for a forged, altered or another account's
    id; 409 `itinerary-expired` for one past its expiry."""
    opened = ids.sealer.open(token)
    try:
        if opened is None:
            raise ValueError
        payload = json.loads(zlib.decompress(opened))
        if payload["f"] != _FORMAT:
            raise ValueError
        voucher = Voucher(account_id=int(payload["a"]),
                          expires_at=datetime.fromtimestamp(int(payload["e"]), UTC),
                          search=ItinerarySearchRequest.model_validate_json(json.dumps(payload["q"])),
                          digest=str(payload["d"]))
    except (ValueError, KeyError, TypeError, zlib.error, ValidationError):
        # Only a payload this server sealed reaches json.loads, so this is a format change.
        raise InvalidLogistics("itinerary_id", _UNKNOWN) from None
    if account_id is None or voucher.account_id != account_id:
        raise InvalidLogistics("itinerary_id", _UNKNOWN)
    if now >= voucher.expires_at:
        raise ItineraryExpired(f"itinerary ids last {int(ids.lifetime.total_seconds() // 60)} "
                               "minutes and this one has expired: search again")
    return voucher
