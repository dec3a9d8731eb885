"""The timetable of the stored feed set: built once, kept on disk, expanded per departure day.

A `TimetableStore` is made by the app factory (`api.services.build_services`) and held by
`Services`; it replaces the per-process module cache. It keeps one `ServiceCalendar` (every
trip once with its service days, `solvers.transit.calendar`) for the current feed set, keyed by
the stored feeds' ids and content hashes, so a re-import under the same name or a new edition
is picked up at the next search. The calendar is written to a disk cache beside the database
(`<folder>/timetables/calendar-<key>.pickle`, written to a temporary file and renamed, with a
format version in the name) when a feed is imported, so a server start loads it in a fraction
of a second instead of parsing the feeds; a missing or stale cache file is rebuilt from the
database by the first caller, under the store's lock, and written again. No answer ever comes
from a calendar of another feed set: the key is checked on every search.

From the calendar, the search timetable for a departure day (service days d-1 .. d+7) is
expanded in about 1.5 s on the national network (with the cyclic garbage collector paused,
which halves it); the last `HORIZONS` days are kept.
`homeward serve` loads the calendar and expands today's in its supervisor before forking the
workers, which share both (copy-on-write).

Module imports are stdlib only, so `homeward users add` (which builds the services) stays fast;
the engine is imported on first use.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from solvers.transit import Timetable
    from solvers.transit.calendar import ServiceCalendar

# Bumped whenever ServiceCalendar or the way it is built changes: an older file is not read.
FORMAT_VERSION = 2
HORIZONS = 2
log = logging.getLogger("homeward.transport")

FeedKey = tuple[tuple[int, str], ...]


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of long-lived objects are made.

    Loading the calendar and expanding a day allocate objects that live until the feed set
    changes; each allocation burst triggers collections that rescan all of them, which was half
    of the expansion's time (measured on the national network: 9.5 s against 5.9 s on a loaded
    2-core machine). Nothing made here is cyclic garbage, and the collector resumes as it was.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class TimetableStore:
    """One feed set's calendar (memory, then disk, then built) and recent day timetables."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._key: FeedKey | None = None
        self._calendar: ServiceCalendar | None = None
        self._days: OrderedDict[tuple[FeedKey, date], Timetable] = OrderedDict()

    @staticmethod
    def feed_key(session: Session) -> FeedKey:
        from sqlmodel import col, select

        from logistics.travel.feed_models import TransportFeed

        rows = session.exec(select(TransportFeed.id, TransportFeed.content_hash)
                            .order_by(col(TransportFeed.id))).all()
        return tuple((int(i), h) for i, h in rows if i is not None)

    def _path(self, key: FeedKey) -> Path | None:
        if self.cache_dir is None or not key:
            return None
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
        return self.cache_dir / f"calendar-v{FORMAT_VERSION}-{digest}.pickle"

    def _read(self, key: FeedKey) -> ServiceCalendar | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            with path.open("rb") as handle, _no_cyclic_gc():
                # The file is the server's own, written by `_write` under the database's folder.
                stored_key, cal = pickle.load(handle)  # noqa: S301
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
                TypeError, ValueError):  # a damaged or outdated file is rebuilt, never trusted
            log.warning("timetable cache unreadable, rebuilding", extra={"path": str(path)})
            return None
        return cal if stored_key == key else None

    def _write(self, key: FeedKey, cal: ServiceCalendar) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a reader sees the old file or the whole new one.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".calendar-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((key, cal), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for old in path.parent.glob("calendar-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)

    def calendar(self, session: Session) -> ServiceCalendar | None:
        """The current feed set's calendar; None when no feed is stored."""
        key = self.feed_key(session)
        with self._lock:
            return self._calendar_locked(session, key)

    def _calendar_locked(self, session: Session, key: FeedKey) -> ServiceCalendar | None:
        if key == self._key:
            return self._calendar
        started = time.perf_counter()
        cal = self._read(key)
        source = "loaded"
        if cal is None and key:
            from logistics.travel.search import build_calendar_from_db

            with _no_cyclic_gc():
                cal = build_calendar_from_db(session, [fid for fid, _ in key])
            source = "built"
            self._write(key, cal)
        self._key, self._calendar = key, cal
        self._days.clear()
        log.info(f"timetable calendar {source}",
                 extra={"pid": os.getpid(), "feeds": len(key),
                        "seconds": round(time.perf_counter() - started, 2)})
        return cal

    def persist(self, session: Session) -> None:
        """Build (or load) the calendar of the feeds now stored and write the disk cache: called
        after an import so that the next server start only loads it."""
        key = self.feed_key(session)
        with self._lock:
            cal = self._calendar_locked(session, key)
            path = self._path(key)
            if cal is not None and path is not None and not path.is_file():
                self._write(key, cal)

    def timetable(self, session: Session, day: date) -> Timetable | None:
        """The search timetable for a departure on `day`, or None when no feed is stored.
        Raises TransitInputError("depart_after") when no feed covers `day`."""
        key = self.feed_key(session)
        with self._lock:
            cal = self._calendar_locked(session, key)
            if cal is None:
                return None
            if (key, day) in self._days:
                self._days.move_to_end((key, day))
                return self._days[(key, day)]
            from solvers.transit.calendar import expand

            started = time.perf_counter()
            with _no_cyclic_gc():
                tt = expand(cal, day)
            self._days[(key, day)] = tt
            while len(self._days) > HORIZONS:
                self._days.popitem(last=False)
            log.info("timetable built", extra={"pid": os.getpid(), "feeds": len(key),
                                               "seconds": round(time.perf_counter() - started, 2)})
            return tt


# The hand-off of a supervisor's warmed store to the workers it forks (api/serving.py): the
# only module-level state, read once by each worker's `build_services`.
_FORKED: TimetableStore | None = None


def hand_to_workers(store: TimetableStore) -> None:
    global _FORKED
    _FORKED = store


def inherited(cache_dir: Path) -> TimetableStore | None:
    """The store a supervisor warmed before forking this process, if it has this folder."""
    return _FORKED if _FORKED is not None and _FORKED.cache_dir == cache_dir else None
