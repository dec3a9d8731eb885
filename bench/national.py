"""The national network the benchmarks search: Amtrak's 2023 feed from ../shared/data beside
the synthetic bus and air network (`fixtures.national_transit`), merged and linked by walks
as the service does (`logistics.travel.search`), as one service calendar.

Benchmarks search its real dates (April 2023, inside Amtrak's feed) with a fixed "now", so
they measure the real timetable on the days it ran; without the folder, the synthetic
network alone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fixtures.national_transit import national_gtfs
from logistics.travel.feeds import parse
from logistics.travel.gtfs import build_calendar, read_feed, read_stop_info
from logistics.travel.search import link_feeds, merge_feeds
from solvers.transit import Network
from solvers.transit.calendar import ServiceCalendar

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
AMTRAK = DATA / "amtrak_gtfs_2023"


def national_calendar(cities: int = 2000, *, amtrak: bool = True) -> ServiceCalendar:
    """Amtrak (when its folder is there and `amtrak`) and the synthetic network, linked."""
    files, synth_info = national_gtfs(cities=cities, seed=7)
    if not (amtrak and AMTRAK.is_dir()):
        return build_calendar(parse(files), stop_info=synth_info, default_transfer_minutes=10)
    info = read_stop_info(DATA / "amtrak_stations_metadata" / "amtrak_stations.csv",
                          AMTRAK / "stops_state_lookup.csv")
    feed, stop_info, owner = merge_feeds([(1, read_feed(AMTRAK), info),
                                          (2, parse(files), synth_info)])
    cal = build_calendar(feed, stop_info=stop_info, default_transfer_minutes=10)
    linked = link_feeds(Network(cal.stops, cal.carriers, (), (), cal.footpaths),
                        [owner[s.stop_id] for s in cal.stops])
    return replace(cal, footpaths=linked.footpaths)
