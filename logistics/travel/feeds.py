"""Use cases of transport feeds: import a GTFS feed, load the national network, list feeds.

An import validates the whole feed first (`logistics.travel.gtfs.read_feed`; a broken feed raises
`FeedInvalid` naming the file, row and field, and nothing is written), then in ONE transaction
replaces any feed of the same name with: the feed row (date range, counts, SHA-256 of the files),
the validated files as one deflate zip, and the stop table (city, state, station type,
departures). Stops without a city get the nearest GeoNames place within 25 km. Admins (and the
system, i.e. the CLI) may import. The national network is the real Amtrak feed plus the
synthetic bus and air network of `fixtures.national_transit`. A stale feed can be re-dated at
import (`redate_to`, the CLI's `--redate`): its calendar moves by whole weeks so that it runs on
today's dates for demos and benchmarks; the feed row records the weeks, and the feed list and
every search answer say so (`validity_note`, `redated_notes`). Nothing is ever re-dated
unasked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
import zipfile
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from core import audit
from core.gazetteer import city_key, nearest_city
from core.principal import Principal
from logistics.errors import FeedInvalid, GtfsError
from logistics.travel.feed_models import (
    FeedPublic,
    TransportFeed,
    TransportFeedData,
    TransportStop,
)
from logistics.travel.gtfs import Feed, StopInfo, read_feed, read_stop_info
from logistics.travel.places import FILL_RADIUS_KM

FEED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt",
              "calendar.txt", "calendar_dates.txt", "transfers.txt", "frequencies.txt")
AMTRAK_FEED = "amtrak-2023"
NATIONAL_FEED = "synthetic-national"
# The zip's member timestamps are fixed so the same files always give the same bytes.
_EPOCH = (2000, 1, 1, 0, 0, 0)


def read_files(path: Path) -> dict[str, bytes]:
    """The GTFS files Homeward uses, from a folder or a zip (others, e.g. shapes, are left)."""
    if not path.exists():
        raise FeedInvalid(GtfsError(str(path), None, None, "feed path does not exist"))
    if path.is_dir():
        return {n: (path / n).read_bytes() for n in FEED_FILES if (path / n).is_file()}
    try:
        with zipfile.ZipFile(path) as archive:
            members = {Path(n).name: n for n in archive.namelist()}
            return {n: archive.read(members[n]) for n in FEED_FILES if n in members}
    except zipfile.BadZipFile:
        raise FeedInvalid(GtfsError(path.name, None, None, "neither a folder nor a zip")) from None


def pack(files: Mapping[str, bytes]) -> tuple[bytes, str]:
    """The files as a deterministic deflate zip, and the SHA-256 of their names and contents."""
    digest = hashlib.sha256()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
            zf.writestr(zipfile.ZipInfo(name, _EPOCH), files[name],
                        compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue(), digest.hexdigest()


def unpack(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def parse(files: Mapping[str, bytes]) -> Feed:
    """Validate GTFS files with the feed reader; FeedInvalid names the file, row and field."""
    with tempfile.TemporaryDirectory(prefix="homeward-gtfs-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        try:
            return read_feed(tmp)
        except GtfsError as exc:
            raise FeedInvalid(exc) from None


def _date_range(feed: Feed) -> tuple[date, date]:
    days = [d for s in feed.services.values() for d in (s.start, s.end) if d is not None]
    days += [d for s in feed.services.values() for d in s.added]
    if not days:
        raise FeedInvalid(GtfsError("calendar.txt", None, None, "no service dates"))
    return min(days), max(days)


def _departures(feed: Feed) -> Counter[str]:
    counts: Counter[str] = Counter()
    for trip in feed.trips:
        for st in trip.stop_times[:-1]:
            if st.pickup:
                counts[st.stop_id] += 1
    return counts


def validity_note(row: TransportFeed) -> str:
    """Empty for a feed on its published dates; else what was shifted, by how much, and that
    the times are not the carrier's current schedule."""
    if not row.redated_weeks:
        return ""
    shift = timedelta(weeks=row.redated_weeks)
    return (f"{row.name} is re-dated: its published calendar "
            f"{row.start_date - shift}..{row.end_date - shift} is shifted by "
            f"{row.redated_weeks:+d} weeks (weekdays kept) to {row.start_date}..{row.end_date}, "
            "for demos and benchmarks; its times are not the current schedule")


def feed_public(row: TransportFeed) -> FeedPublic:
    public = FeedPublic.model_validate(row, from_attributes=True)
    public.validity_note = validity_note(row)
    return public


def redate_weeks(feed_start: date, anchor: date | None, today: date) -> int:
    """Whole weeks that move `anchor` (the feed's publication date, else its first service
    day) to the week that starts on or just before `today`, so that today falls on a day the
    feed was current and the rest of its calendar follows."""
    return ((today - (anchor or feed_start)).days) // 7


def redate_files(files: Mapping[str, bytes], weeks: int) -> dict[str, bytes]:
    """The files with every date of calendar.txt (start_date, end_date) and calendar_dates.txt
    (date) moved by `weeks` whole weeks, so each service keeps its weekdays. Other files are
    unchanged; a holiday exception moves with its week, not to the new year's holiday."""
    shift = timedelta(weeks=weeks)
    out = dict(files)
    for name, fields in (("calendar.txt", ("start_date", "end_date")),
                         ("calendar_dates.txt", ("date",))):
        if name not in files:
            continue
        text = files[name].decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text))
        header = list(reader.fieldnames or [])
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, header, lineterminator="\n")
        writer.writeheader()
        for line, row in enumerate(reader, start=2):
            for fld in fields:
                value = (row.get(fld) or "").strip()
                try:
                    moved = datetime.strptime(value, "%Y%m%d").date() + shift
                except ValueError:
                    raise FeedInvalid(GtfsError(name, line, fld, f"not a date: {value!r}")
                                      ) from None
                row[fld] = moved.strftime("%Y%m%d")
            writer.writerow(row)
        out[name] = buffer.getvalue().encode()
    return out


def import_feed(session: Session, *, actor: Principal, name: str, source: str, kind: str,
                files: Mapping[str, bytes],
                stop_info: Mapping[str, StopInfo] | None = None,
                redate_to: date | None = None, anchor: date | None = None) -> FeedPublic:
    """Validate, then replace the feed called `name` in one transaction (or change nothing).
    With `redate_to`, the calendar is first shifted by whole weeks (`redate_weeks`) so that the
    feed runs from about that day on, and the stored feed records by how much."""
    actor.require_platform_admin()
    weeks = 0
    if redate_to is not None:
        weeks = redate_weeks(_date_range(parse(files))[0], anchor, redate_to)
        files = redate_files(files, weeks) if weeks else files
    if not name or len(name) > 100:
        raise FeedInvalid(GtfsError("name", None, None, "1-100 characters"))
    feed = parse(files)
    info = stop_info or {}
    archive, files_hash = pack(files)
    # The stop metadata shapes the timetable too, so it is part of the hash.
    content_hash = hashlib.sha256(files_hash.encode() + repr(sorted(
        (k, v.city, v.state, v.station_type.value) for k, v in info.items())).encode()).hexdigest()
    start, end = _date_range(feed)
    departures = _departures(feed)
    old = session.exec(select(TransportFeed).where(TransportFeed.name == name)).first()
    if old is not None:
        for table in (TransportStop, TransportFeedData):
            session.execute(delete(table).where(col(table.feed_id) == old.id))
        session.delete(old)
        session.flush()
    row = TransportFeed(
        name=name, kind=kind, source=source[:500], imported_by=actor.account_id,
        start_date=start, end_date=end, agencies=len(feed.agencies), stops=len(feed.stops),
        routes=len(feed.routes), trips=len(feed.trips),
        stop_times=sum(len(t.stop_times) for t in feed.trips), content_hash=content_hash,
        redated_weeks=weeks)
    session.add(row)
    session.flush()
    assert row.id is not None
    session.add(TransportFeedData(feed_id=row.id, archive=archive))
    stops = []
    for sid, (stop_name, lat, lon, tz, _wheelchair) in sorted(feed.stops.items()):
        extra = info.get(sid, StopInfo())
        city, state = extra.city, extra.state
        if not city:
            near = nearest_city(lat, lon, FILL_RADIUS_KM)
            if near is not None:
                city, state = near.name, state or near.state
        stops.append({"feed_id": row.id, "stop_id": sid[:100], "name": stop_name[:200],
                      "city": city[:120], "city_key": city_key(city)[:120], "state": state[:8],
                      "lat": lat, "lon": lon, "timezone": tz,
                      "station_type": extra.station_type.value,
                      "departures": departures.get(sid, 0)})
    if stops:
        session.execute(insert(TransportStop), stops)
    audit.record(session, actor, action="transport.import", object_type="transport_feed",
                 object_id=row.id, purpose="transport network",
                 details={"name": name, "kind": kind, "content_hash": content_hash,
                          "replaced": old is not None, "stops": row.stops, "trips": row.trips,
                          "redated_weeks": weeks})
    session.commit()
    session.refresh(row)
    return feed_public(row)


def amtrak_stop_info(feed_dir: Path, stations_csv: Path | None) -> dict[str, StopInfo]:
    lookup = feed_dir / "stops_state_lookup.csv"
    return read_stop_info(stations_csv if stations_csv and stations_csv.is_file() else None,
                          lookup if lookup.is_file() else None)


def feed_info_start(path: Path) -> date | None:
    """feed_info.txt's feed_start_date (the day the feed was published as current), if any."""
    info = path / "feed_info.txt"
    if not info.is_file():
        return None
    for row in csv.DictReader(io.StringIO(info.read_text(encoding="utf-8-sig"))):
        try:
            return datetime.strptime((row.get("feed_start_date") or "").strip(), "%Y%m%d").date()
        except ValueError:
            return None
    return None


def import_gtfs(session: Session, *, actor: Principal, path: Path, name: str | None = None,
                stations_csv: Path | None = None, redate_to: date | None = None) -> FeedPublic:
    """Import a GTFS folder or zip; a `stops_state_lookup.csv` beside it adds cities/states.
    `redate_to` shifts its calendar to run from about that day (`import_feed`)."""
    files = read_files(path)
    info = amtrak_stop_info(path, stations_csv) if path.is_dir() else {}
    anchor = feed_info_start(path) if path.is_dir() else None
    return import_feed(session, actor=actor, name=name or path.stem, source=str(path),
                       kind="gtfs", files=files, stop_info=info, redate_to=redate_to,
                       anchor=anchor)


def load_amtrak(session: Session, *, actor: Principal, data_dir: Path,
                redate_to: date | None = None) -> FeedPublic | None:
    """The real 2023 Amtrak feed from `data_dir` (the shared data folder); None if absent.
    Its trains run mostly 2022-05-20..2024-04-07: `redate_to` (today) shifts it so that its
    publication week (feed_info, 2023-04-08) is today's, for demos and benchmarks, with the
    feed marked re-dated."""
    feed_dir = data_dir / "amtrak_gtfs_2023"
    if not feed_dir.is_dir():
        return None
    return import_gtfs(session, actor=actor, path=feed_dir, name=AMTRAK_FEED,
                       stations_csv=data_dir / "amtrak_stations_metadata" / "amtrak_stations.csv",
                       redate_to=redate_to)


def load_national(session: Session, *, actor: Principal, data_dir: Path | None,
                  synthetic: Mapping[str, bytes], synthetic_stops: Mapping[str, StopInfo],
                  source: str, redate_to: date | None = None) -> list[FeedPublic]:
    """Amtrak (when `data_dir` has it) plus the synthetic bus and air network's GTFS files;
    `redate_to` re-dates Amtrak only (the synthetic network already runs 2023..2030).

    The synthetic files are made by the caller (`fixtures.national_transit`), so engine code
    never carries a fixture generator."""
    loaded = []
    if data_dir is not None:
        amtrak = load_amtrak(session, actor=actor, data_dir=data_dir, redate_to=redate_to)
        if amtrak is not None:
            loaded.append(amtrak)
    loaded.append(import_feed(
        session, actor=actor, name=NATIONAL_FEED, kind="synthetic", files=synthetic,
        stop_info=synthetic_stops, source=source))
    return loaded


def load_demo_transport(session: Session, *, actor: Principal, data_dir: Path | None,
                        redate_to: date | None = None) -> FeedPublic | None:
    """For `homeward demo`: the Amtrak feed if the shared data is present (re-dated to
    `redate_to` when given); never fails on that."""
    if data_dir is None or not data_dir.is_dir():
        return None
    return load_amtrak(session, actor=actor, data_dir=data_dir, redate_to=redate_to)


def redated_notes(session: Session) -> list[str]:
    """The validity note of every stored feed that was re-dated (for search answers)."""
    rows = session.exec(select(TransportFeed).where(col(TransportFeed.redated_weeks) != 0)
                        .order_by(col(TransportFeed.id))).all()
    return [validity_note(r) for r in rows]


def list_feeds(session: Session, *, actor: Principal) -> list[FeedPublic]:
    rows = session.exec(select(TransportFeed).order_by(col(TransportFeed.id))).all()
    return [feed_public(r) for r in rows]
