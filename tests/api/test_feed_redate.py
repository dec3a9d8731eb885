"""Re-dating a stale feed for demos and benchmarks (issue 16): whole weeks, weekdays kept,
recorded on the feed and said wherever its dates are shown; never done unasked.

The 2023 Amtrak feed's trains run mostly 2022-05-20..2024-04-07, so on today's dates Houston ->
New York without photo ID found nothing; re-dated, the same search answers with Amtrak trains
(once the search window no longer follows a flight such a traveller may not take).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.deps import Services
from core.clock import utcnow
from core.models import Role
from core.principal import SYSTEM
from logistics.travel import feeds as transport_service
from tests.api.test_travel_api import STOP_INFO, query, small_feed
from tests.conftest import SHARED_DATA, TEST_KEY
from tests.support import AccountFactory, needs_shared_data

DATES = "service_id,date,exception_type\nD,20230412,2\nD,20230415,1\n"


def test_small_feed_moves_by_whole_weeks_with_its_exceptions(
        client: TestClient, services: Services, make: AccountFactory, tmp_path: Path) -> None:
    files = transport_service.read_files(small_feed(tmp_path, **{"calendar_dates.txt": DATES}))
    today = date(2026, 12, 2)
    with services.db.write_session() as session:
        feed = transport_service.import_feed(session, actor=SYSTEM, name="small", source="t",
                                             kind="gtfs", files=files, stop_info=STOP_INFO,
                                             redate_to=today)
    # The feed starts 2023-01-01 (no feed_info): moved to the week ending on `today`.
    weeks = (today - date(2023, 1, 1)).days // 7
    assert feed.redated_weeks == weeks == 204
    assert feed.start_date == date(2023, 1, 1) + timedelta(weeks=weeks)
    assert feed.start_date.weekday() == date(2023, 1, 1).weekday()
    assert feed.start_date <= today < feed.start_date + timedelta(days=7)
    assert feed.end_date == date(2023, 12, 31) + timedelta(weeks=weeks)
    assert "re-dated" in feed.validity_note and "2023-01-01..2023-12-31" in feed.validity_note
    assert f"{weeks:+d} weeks" in feed.validity_note
    stored = transport_service.unpack(_archive(services))
    moved = (date(2023, 4, 12) + timedelta(weeks=weeks)).strftime("%Y%m%d")
    assert moved in stored["calendar_dates.txt"].decode()
    h = make.account(Role.ADVOCATE).headers
    listed = client.get("/v1/transport/feeds", headers=h).json()
    assert listed[0]["redated_weeks"] == weeks and listed[0]["validity_note"]
    # Trains run on the shifted dates, and the answer says the feed is re-dated.
    day = (date(2023, 4, 13) + timedelta(weeks=weeks)).isoformat()
    found = client.post("/v1/itineraries/search", json=query(
        depart_after=f"{day}T08:00:00-05:00"), headers=h).json()
    assert found["itineraries"], found["reasons"]
    assert found["feed_notes"] == [feed.validity_note]
    # The removed day moved with its week: no train departs that day.
    removed = (date(2023, 4, 12) + timedelta(weeks=weeks)).isoformat()
    gone = client.post("/v1/itineraries/search", json=query(
        depart_after=f"{removed}T08:00:00-05:00", max_transfers=0,
        arrive_by=f"{removed}T23:59:00-05:00"), headers=h).json()
    assert not any(leg["mode"] == "rail" for it in gone["itineraries"] for leg in it["legs"])
    # The 2023 dates are outside the stored feed now.
    old = client.post("/v1/itineraries/search", json=query(), headers=h)
    assert old.status_code == 422 and str(feed.start_date) in old.text


def _archive(services: Services) -> bytes:
    from sqlmodel import select

    from logistics.travel.feed_models import TransportFeedData

    with services.db.read_session() as session:
        return session.exec(select(TransportFeedData)).one().archive


def test_not_redated_unless_asked(client: TestClient, services: Services,
                                  make: AccountFactory, tmp_path: Path) -> None:
    files = transport_service.read_files(small_feed(tmp_path))
    with services.db.write_session() as session:
        feed = transport_service.import_feed(session, actor=SYSTEM, name="small", source="t",
                                             kind="gtfs", files=files, stop_info=STOP_INFO)
    assert feed.redated_weeks == 0 and feed.validity_note == ""
    assert feed.start_date == date(2023, 1, 1)
    found = client.post("/v1/itineraries/search", json=query(),
                        headers=make.account(Role.ADVOCATE).headers).json()
    assert found["itineraries"] and found["feed_notes"] == []


@needs_shared_data(SHARED_DATA / "amtrak_gtfs_2023")
def test_cli_redate_then_houston_to_new_york_without_id_by_amtrak(
        client: TestClient, make: AccountFactory, database_url: str) -> None:
    env = {"HOMEWARD_DATABASE_URL": database_url, "HOMEWARD_SECRET_KEY": TEST_KEY}
    result = CliRunner().invoke(cli, ["transport", "load-national", "--data-dir",
                                      str(SHARED_DATA), "--cities", "60", "--redate"], env=env)
    assert result.exit_code == 0, result.output
    today = utcnow().date()
    weeks = (today - date(2023, 4, 8)).days // 7  # feed_info.txt: published 2023-04-08
    # Calendar rows span 2020-10-05..2025-01-06 (trains mostly 2022-05-20..2024-04-07).
    assert ("NOTE: amtrak-2023 is re-dated: its published calendar 2020-10-05..2025-01-06 is "
            f"shifted by {weeks:+d} weeks" in result.output)
    h = make.account(Role.CASE_MANAGER).headers
    feeds = {f["name"]: f for f in client.get("/v1/transport/feeds", headers=h).json()}
    assert feeds["amtrak-2023"]["redated_weeks"] == weeks
    assert feeds["synthetic-national"]["redated_weeks"] == 0
    assert feeds["synthetic-national"]["validity_note"] == ""
    start = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    body = query(**{"from": {"city": "Houston", "state": "TX"},
                    "to": {"city": "New York", "state": "NY"}},
                 depart_after=(start + timedelta(hours=14)).isoformat(), has_id=False,
                 budget_cents=200_000, max_transfers=3, min_transfer_minutes=30)
    found = client.post("/v1/itineraries/search", json=body, headers=h).json()
    assert found["itineraries"], found["reasons"]
    rail = {leg["carrier"] for it in found["itineraries"] for leg in it["legs"]
            if leg["mode"] == "rail"}
    assert "Amtrak" in rail
    assert found["feed_notes"] == [feeds["amtrak-2023"]["validity_note"]]


def test_cli_import_gtfs_redate_says_so(database_url: str, tmp_path: Path) -> None:
    env = {"HOMEWARD_DATABASE_URL": database_url, "HOMEWARD_SECRET_KEY": TEST_KEY}
    folder = small_feed(tmp_path / "feed")
    plain = CliRunner().invoke(cli, ["transport", "import-gtfs", str(folder), "--name", "a"],
                               env=env)
    assert plain.exit_code == 0, plain.output
    assert "service 2023-01-01..2023-12-31" in plain.output and "NOTE" not in plain.output
    moved = CliRunner().invoke(cli, ["transport", "import-gtfs", str(folder), "--name", "a",
                                     "--redate"], env=env)
    assert moved.exit_code == 0, moved.output
    assert "NOTE: a is re-dated: its published calendar 2023-01-01..2023-12-31" in moved.output


def test_the_travel_page_says_the_timetable_is_re_dated(
        client: TestClient, services: Services, make: AccountFactory, tmp_path: Path) -> None:
    """A case manager on the web page is told too, not only the API's `feed_notes`."""
    from api.web.common import LANG_COOKIE
    from tests.api.web_support import sign_in

    files = transport_service.read_files(small_feed(tmp_path))
    today = utcnow().date()
    with services.db.write_session() as session:
        feed = transport_service.import_feed(session, actor=SYSTEM, name="small", source="t",
                                             kind="gtfs", files=files, stop_info=STOP_INFO,
                                             redate_to=today)
    manager = make.account(Role.CASE_MANAGER)
    token = sign_in(client, services, manager.name, next_page="/web/travel")
    day = date(2023, 4, 13) + timedelta(weeks=feed.redated_weeks)
    form = {"csrf_token": token, "from_city": "Chicago", "from_state": "IL",
            "to_city": "Denver", "to_state": "CO", "depart_after": f"{day}T08:00",
            "ages": "30", "has_id": "yes"}
    page = client.post("/web/travel/search", data=form)
    assert page.status_code == 200
    assert 'id="feed-notes"' in page.text and "re-dated timetable" in page.text
    assert "+" + str(feed.redated_weeks) + " weeks" in page.text
    client.cookies.set(LANG_COOKIE, "es")
    spanish = client.post("/web/travel/search", data=form).text
    assert "horario con las fechas cambiadas" in spanish
