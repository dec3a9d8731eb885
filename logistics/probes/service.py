"""Use cases of probe counting: record a request's circles, refuse probing, list suspicions.

Shelter search (through `guard`) and matching (`logistics.matching.probe_guard`) count
before answering. A
request that only repeats shapes answered in the last half window (a refresh) passes after one
read. Otherwise it runs one short write transaction of its own (a search and an inline match
otherwise only read): it locks the caller's account row (PostgreSQL; SQLite's BEGIN IMMEDIATE
already serialises writers), drops the account's probes older than the window, counts the
distinct shapes answered per place in the window and, if the request's new shapes fit
(`logistics.probes.rules.verdict`), stores them and commits. Otherwise nothing of the request is
stored, the episode is counted in `probe_suspicion` (its first refusal also writes a
`probe.suspected` audit row, with the coarse place and counts only) and the caller gets
`TooManyProbes` (429 with Retry-After). Counts live in the database, so every worker process
and machine sees the same budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session, col

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.db import Database
from core.models import Account
from core.principal import Principal
from logistics.errors import TooManyProbes
from logistics.probes.models import GeometryProbe, ProbeSuspicion, ProbeSuspicionPublic
from logistics.probes.rules import (
    Probe,
    ProbeLimits,
    ProbeVerdict,
    by_place,
    verdict,
)

SHAPE_FIELD = "geometry_probe.shape"
_CHUNK = 500  # places per IN list: a batch may draw thousands of circles


def record_probes(session: Session, *, actor: Principal, cipher: FieldCipher,
                  probes: Sequence[Probe], limits: ProbeLimits, source: str,
                  purpose: str) -> int | None:
    """Count this request's probes; None when allowed, else seconds to wait. Commits."""
    if actor.account_id is None or not probes:
        return None  # the system account (CLI, fixtures) is not a caller that can probe
    account_id = actor.account_id
    now = utcnow()
    since = now - limits.window
    # One account's checks run one at a time, so two workers cannot both spend the last
    # unit of its budget.
    session.execute(select(col(Account.id)).where(col(Account.id) == account_id)
                    .with_for_update())
    session.execute(delete(GeometryProbe).where(col(GeometryProbe.account_id) == account_id,
                                                col(GeometryProbe.at) <= since))
    wanted = _digests(cipher, probes)
    seen = _seen(session, account_id, sorted(wanted), since)
    verdicts = [verdict(place, seen=seen.get(place, {}), requested=digests, limits=limits,
                        now=now) for place, digests in sorted(wanted.items())]
    refused = [v for v in verdicts if not v.allowed]
    if refused:
        for v in refused:
            _suspect(session, actor, account_id, v, limits, source, purpose, now)
        session.commit()
        return max(v.retry_after_s or 1 for v in refused)
    for place, digests in wanted.items():
        known = digests & seen.get(place, {}).keys()
        if known:  # drawn again: still one variation, now the freshest
            session.execute(update(GeometryProbe).where(
                col(GeometryProbe.account_id) == account_id,
                col(GeometryProbe.place_key) == place,
                col(GeometryProbe.shape_digest).in_(sorted(known))).values(at=now))
        new = digests - known
        if new:
            session.execute(insert(GeometryProbe), [
                {"account_id": account_id, "place_key": place, "shape_digest": d, "at": now}
                for d in sorted(new)])
    session.commit()
    return None


def _digests(cipher: FieldCipher, probes: Sequence[Probe]) -> dict[str, set[str]]:
    return {place: {cipher.digest(shape, field=SHAPE_FIELD) for shape in shapes}
            for place, shapes in by_place(probes).items()}


def _seen(session: Session, account_id: int, places: list[str],
          since: datetime) -> dict[str, dict[str, datetime]]:
    """Per place, each shape digest drawn after `since` and when it was last drawn."""
    found: dict[str, dict[str, datetime]] = {}
    for start in range(0, len(places), _CHUNK):
        rows = session.execute(
            select(col(GeometryProbe.place_key), col(GeometryProbe.shape_digest),
                   func.max(col(GeometryProbe.at)))
            .where(col(GeometryProbe.account_id) == account_id,
                   col(GeometryProbe.place_key).in_(places[start:start + _CHUNK]),
                   col(GeometryProbe.at) > since)
            .group_by(col(GeometryProbe.place_key), col(GeometryProbe.shape_digest))).all()
        for place, digest, at in rows:
            found.setdefault(place, {})[digest] = at
    return found


def _suspect(session: Session, actor: Principal, account_id: int, v: ProbeVerdict,
             limits: ProbeLimits, source: str, purpose: str, now: datetime) -> None:
    """Count a refusal in the open episode at this place, or open one and audit it."""
    episode = session.execute(select(ProbeSuspicion).where(
        col(ProbeSuspicion.account_id) == account_id, col(ProbeSuspicion.place_key) == v.place,
        col(ProbeSuspicion.last_at) > now - limits.window)
        .order_by(col(ProbeSuspicion.last_at).desc()).limit(1)).scalars().first()
    if episode is not None:
        episode.refused += 1
        episode.variations = max(episode.variations, v.seen)
        episode.last_at = now
        session.add(episode)
        return
    session.add(ProbeSuspicion(account_id=account_id, place_key=v.place, source=source,
                               variations=v.seen, refused=1, first_at=now, last_at=now))
    # Only the coarse place and counts: never the circles themselves.
    audit.record(session, actor, action="probe.suspected", object_type="account",
                 object_id=account_id, purpose=purpose,
                 details={"place": v.place, "source": source, "variations": v.seen,
                          "requested": v.new, "limit": limits.limit,
                          "window_s": int(limits.window.total_seconds())})


def already_answered(session: Session, *, actor: Principal, cipher: FieldCipher,
                     probes: Sequence[Probe], limits: ProbeLimits) -> bool:
    """Whether every shape was answered within the last half window: a refresh, which spends
    nothing and need not write (searches are the busiest reads; SQLite has one writer)."""
    if actor.account_id is None:
        return True
    wanted = _digests(cipher, probes)
    seen = _seen(session, actor.account_id, sorted(wanted), utcnow() - limits.window / 2)
    return all(digests <= seen.get(place, {}).keys() for place, digests in wanted.items())


def guard(db: Database, *, actor: Principal, cipher: FieldCipher, probes: Sequence[Probe],
          limits: ProbeLimits, source: str, purpose: str) -> None:
    """Record the probes in a transaction of their own; TooManyProbes when over the limit."""
    if actor.account_id is None or not probes:
        return
    with db.read_session() as session:
        if already_answered(session, actor=actor, cipher=cipher, probes=probes,
                            limits=limits):
            return
    with db.write_session() as session:
        wait = record_probes(session, actor=actor, cipher=cipher, probes=probes,
                             limits=limits, source=source, purpose=purpose)
    if wait is not None:
        raise refusal(wait)


def refusal(wait: int) -> TooManyProbes:
    return TooManyProbes(
        "too many different search or matching areas around one place from this account; "
        "this has been recorded; wait before trying again", retry_after=wait)


def drop_expired(session: Session, *, limits: ProbeLimits) -> int:
    """Delete every account's circles older than the window (an idle account's would
    otherwise wait for its next request); how many. Commits."""
    result = session.execute(delete(GeometryProbe).where(
        col(GeometryProbe.at) <= utcnow() - limits.window))
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def list_suspicions(session: Session, *, actor: Principal, limit: int,
                    offset: int) -> list[ProbeSuspicionPublic]:
    """Episodes of suspected probing across every agency, the latest first (platform admins)."""
    actor.require_platform_admin()
    rows = session.execute(
        select(ProbeSuspicion, Account)
        .join(Account, col(Account.id) == col(ProbeSuspicion.account_id))
        .order_by(col(ProbeSuspicion.last_at).desc(), col(ProbeSuspicion.id).desc())
        .limit(limit).offset(offset)).all()
    found = []
    for s, account in rows:
        assert s.id is not None
        found.append(ProbeSuspicionPublic(
            id=s.id, account_id=s.account_id, account_name=account.name,
            account_role=str(account.role), agency_id=account.agency_id, place_key=s.place_key,
            source=s.source, variations=s.variations, refused=s.refused, first_at=s.first_at,
            last_at=s.last_at))
    return found
