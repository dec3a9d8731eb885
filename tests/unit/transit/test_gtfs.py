"""GTFS semantics on small hand-written feeds: overnight times, calendars, zones, rules, errors."""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from logistics.errors import GtfsError
from logistics.travel.gtfs import build_calendar, build_network, read_feed
from solvers.errors import TransitInputError
from solvers.transit import build_timetable, earliest_arrival
from solvers.transit.calendar import expand

BASE = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
    "A,Test Rail,http://x,America/New_York\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
    "S1,One,40.0,-75.0\nS2,Two,40.5,-75.5\nS3,Three,41.0,-76.0\nS9,Unused,42.0,-77.0\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
    "R,A,,Night Line,2\n",
    "trips.txt": "route_id,service_id,trip_id\nR,WK,T1\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence,"
    "pickup_type,drop_off_type\n"
    "T1,23:30:00,23:30:00,S1,1,0,0\nT1,24:40:00,24:45:00,S2,2,0,0\nT1,25:10:00,25:10:00,S3,3,0,0\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
    "start_date,end_date\nWK,1,1,1,1,1,0,0,20230401,20230430\n",
}


def write(tmp_path: Path, **changes: str | None) -> Path:
    folder = tmp_path / "feed"
    folder.mkdir(exist_ok=True)
    files = dict(BASE)
    for name, text in changes.items():
        key = name.replace("__", ".")
        if text is None:
            files.pop(key, None)
        else:
            files[key] = text
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def minute(y: int, mo: int, d: int, h: int, mi: int) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp()) // 60


def test_times_past_midnight_roll_into_next_day(tmp_path: Path) -> None:
    net = build_network(read_feed(write(tmp_path)), date(2023, 4, 12), date(2023, 4, 12))
    wed = [c for c in net.connections if net.trips[c.trip].service_date == "2023-04-12"]
    # 23:30 EDT on Wednesday is 03:30 UTC Thursday; 25:10 is 01:10 EDT Thursday.
    assert wed[0].dep == minute(2023, 4, 13, 3, 30)
    assert wed[-1].arr == minute(2023, 4, 13, 5, 10)
    assert [s.stop_id for s in net.stops] == ["S1", "S2", "S3"]  # S9 has no service


def test_calendar_weekdays_and_exceptions(tmp_path: Path) -> None:
    dates = "service_id,date,exception_type\nWK,20230412,2\nWK,20230415,1\n"
    feed = read_feed(write(tmp_path, calendar_dates__txt=dates))
    net = build_network(feed, date(2023, 4, 10), date(2023, 4, 16))
    days = sorted({t.service_date for t in net.trips})
    # The day before the range is expanded too, for trips still running past midnight.
    assert days == ["2023-04-10", "2023-04-11", "2023-04-13", "2023-04-14", "2023-04-15"]


def test_calendar_dates_alone_is_enough(tmp_path: Path) -> None:
    dates = "service_id,date,exception_type\nWK,20230416,1\n"
    feed = read_feed(write(tmp_path, calendar__txt=None, calendar_dates__txt=dates))
    net = build_network(feed, date(2023, 4, 10), date(2023, 4, 20))
    assert {t.service_date for t in net.trips} == {"2023-04-16"}


def test_agency_time_zone_and_dst_origin(tmp_path: Path) -> None:
    agency = "agency_id,agency_name,agency_url,agency_timezone\nA,West,http://x,America/Los_Angeles\n"
    net = build_network(read_feed(write(tmp_path, agency__txt=agency)), date(2023, 4, 12),
                        date(2023, 4, 12))
    wed = [c for c in net.connections if net.trips[c.trip].service_date == "2023-04-12"]
    assert wed[0].dep == minute(2023, 4, 13, 6, 30)  # 23:30 PDT
    calendar = BASE["calendar.txt"].replace("1,1,1,1,1,0,0,20230401", "1,1,1,1,1,1,1,20230301")
    times = BASE["stop_times.txt"].replace("23:30:00,23:30:00", "03:00:00,03:00:00")
    net = build_network(read_feed(write(tmp_path, calendar__txt=calendar,
                                        stop_times__txt=times)), date(2023, 3, 12),
                        date(2023, 3, 12))
    sunday = [c for c in net.connections if net.trips[c.trip].service_date == "2023-03-12"]
    # DST starts 02:00 on 12 March: times count from noon minus 12 h, so 03:00 is 07:00 UTC.
    assert sunday[0].dep == minute(2023, 3, 12, 7, 0)


def test_unknown_time_zone_is_rejected(tmp_path: Path) -> None:
    bad = "agency_id,agency_name,agency_url,agency_timezone\nA,X,http://x,Mars/Olympus\n"
    with pytest.raises(GtfsError, match=re.escape("agency.txt row 2 field agency_timezone")):
        read_feed(write(tmp_path, agency__txt=bad))


def test_pickup_and_drop_off_rules(tmp_path: Path) -> None:
    times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,drop_off_type\n"
        "T1,08:00:00,08:00:00,S1,1,0,0\nT1,09:00:00,09:00:00,S2,2,1,1\n"
        "T1,10:00:00,10:00:00,S3,3,0,0\n"
    )
    net = build_network(read_feed(write(tmp_path, stop_times__txt=times)), date(2023, 4, 12),
                        date(2023, 4, 12))
    tt = build_timetable(net)
    ix = {s.stop_id: i for i, s in enumerate(net.stops)}
    start = minute(2023, 4, 12, 11, 0)
    assert earliest_arrival(tt, ix["S1"], ix["S2"], start) is None  # no drop-off at S2
    assert earliest_arrival(tt, ix["S2"], ix["S3"], start) is None  # no pickup at S2
    assert earliest_arrival(tt, ix["S1"], ix["S3"], start) == minute(2023, 4, 12, 14, 0)


def test_untimed_stops_are_interpolated(tmp_path: Path) -> None:
    times = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,S1,1\nT1,,,S2,2\nT1,10:00:00,10:00:00,S3,3\n"
    )
    feed = read_feed(write(tmp_path, stop_times__txt=times))
    assert feed.trips[0].stop_times[1].arrival == 9 * 3600


def test_zip_feed(tmp_path: Path) -> None:
    folder = write(tmp_path)
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.iterdir():
            zf.write(path, f"gtfs/{path.name}")
    assert len(read_feed(archive).trips) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stops__txt": None}, "stops.txt: required file is missing"),
        ({"calendar__txt": None}, "calendar.txt: required file is missing"),
        ({"trips__txt": "route_id,service_id,trip_id\nNOPE,WK,T1\n"},
         "trips.txt row 2 field route_id: unknown route 'NOPE'"),
        ({"trips__txt": "route_id,service_id,trip_id\nR,GONE,T1\n"},
         "trips.txt row 2 field service_id"),
        ({"stop_times__txt": BASE["stop_times.txt"].replace("S2,2", "SX,2")},
         "stop_times.txt row 3 field stop_id: unknown stop 'SX'"),
        ({"stop_times__txt": BASE["stop_times.txt"].replace("T1,25:10", "T9,25:10")},
         "stop_times.txt row 4 field trip_id: unknown trip 'T9'"),
        ({"stop_times__txt": BASE["stop_times.txt"].replace("24:40:00", "24:61:00")},
         "stop_times.txt row 3 field arrival_time"),
        ({"stop_times__txt": BASE["stop_times.txt"].replace(",S2,2,0,0", ",S2,2,7,0")},
         "stop_times.txt row 3 field pickup_type"),
        ({"stops__txt": "stop_id,stop_name,stop_lat\nS1,One,40\n"},
         "stops.txt row 1 field stop_lon: required column is missing"),
        ({"routes__txt": "route_id,agency_id,route_type\nR,ZZ,2\n"},
         "routes.txt row 2 field agency_id"),
        ({"stop_times__txt": BASE["stop_times.txt"].replace("25:10:00,25:10:00", "22:00:00,"
                                                            "22:00:00")},
         "time goes backwards"),
    ],
)
def test_broken_feeds_name_file_row_and_field(
    tmp_path: Path, changes: dict[str, str | None], message: str
) -> None:
    with pytest.raises(GtfsError, match=re.escape(message)):
        read_feed(write(tmp_path, **changes))


def test_missing_feed_path(tmp_path: Path) -> None:
    with pytest.raises(GtfsError, match="does not exist"):
        read_feed(tmp_path / "nothing")


def test_the_calendar_expands_like_the_network_for_any_day(tmp_path: Path) -> None:
    dates = "service_id,date,exception_type\nWK,20230412,2\nWK,20230415,1\n"
    feed = read_feed(write(tmp_path, calendar_dates__txt=dates))
    cal = build_calendar(feed)
    assert cal.covers() == (date(2023, 4, 3), date(2023, 4, 28))
    tt = expand(cal, date(2023, 4, 11))
    # Service days d-1 .. d+7, with the removed Wednesday and the added Saturday.
    assert sorted({t.service_date for t in tt.network.trips}) == [
        "2023-04-10", "2023-04-11", "2023-04-13", "2023-04-14", "2023-04-15",
        "2023-04-17", "2023-04-18"]
    old = build_timetable(build_network(feed, date(2023, 4, 11), date(2023, 4, 18)))
    for start in (minute(2023, 4, 11, 12, 0), minute(2023, 4, 12, 12, 0),
                  minute(2023, 4, 16, 0, 0)):
        assert earliest_arrival(tt, 0, 2, start) == earliest_arrival(old, 0, 2, start)
    with pytest.raises(TransitInputError):
        expand(cal, date(2023, 6, 1))


def test_frequencies_become_one_trip_per_headway(tmp_path: Path) -> None:
    freq = "trip_id,start_time,end_time,headway_secs\nT1,06:00:00,07:00:00,1200\n"
    feed = read_feed(write(tmp_path, frequencies__txt=freq))
    assert [t.trip_id for t in feed.trips] == ["T1@21600", "T1@22800", "T1@24000"]
    # Running times are kept: 70 minutes from S1 to S2, as in the template trip.
    second = feed.trips[1].stop_times
    assert (second[0].departure, second[1].arrival) == (22800, 22800 + 70 * 60)
    bad = "trip_id,start_time,end_time,headway_secs\nT1,06:00:00,05:00:00,600\n"
    with pytest.raises(GtfsError, match="end_time"):
        read_feed(write(tmp_path, frequencies__txt=bad))
