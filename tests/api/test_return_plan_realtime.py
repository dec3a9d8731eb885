"""Re-planning from GTFS-Realtime (issue 22 item 3): a synthetic feed cancels the train three
accepted return plans ride; each of their travel plans is reported with the reason, as a
stored disruption, and why nothing restores it (the next train arrives after a hold at the one
shelter could last); a feed cancelling another trip, or the train on another day, touches
nothing; a delay touches them only once it outlasts the hold. Proposals, accepting them and
alerts: `test_return_plan_disruptions`."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from google.transit import gtfs_realtime_pb2
from typer.testing import CliRunner

from api.cli import app as cli
from api.config import Settings
from core.models import Role
from tests.api.test_return_plans import _accept, _case, _feed, _optimise, _shelter, start
from tests.conftest import TEST_KEY
from tests.safe_house_worlds import frozen_clock
from tests.support import Account, AccountFactory

__all__ = ["_feed"]  # the feed fixture, autouse


def cancelling(trip_id: str, day: str) -> str:
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    entity = feed.entity.add()
    entity.id = "cancel-1"
    entity.trip_update.trip.trip_id = trip_id
    entity.trip_update.trip.start_date = day
    entity.trip_update.trip.schedule_relationship = (
        gtfs_realtime_pb2.TripDescriptor.CANCELED)
    return base64.b64encode(feed.SerializeToString()).decode()


def delaying(trip_id: str, day: str, seconds: int) -> str:
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    entity = feed.entity.add()
    entity.id = "late-1"
    entity.trip_update.trip.trip_id = trip_id
    entity.trip_update.trip.start_date = day
    stop = entity.trip_update.stop_time_update.add()
    stop.stop_id = "DEN"
    stop.arrival.delay = seconds
    return base64.b64encode(feed.SerializeToString()).decode()


def _replan(client: TestClient, who: Account, feed: str) -> dict:  # type: ignore[type-arg]
    with frozen_clock(start() + timedelta(minutes=30)):
        answer = client.post("/v1/return-plans/realtime", json={"feed_base64": feed},
                             headers=who.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_cancelled_train_marks_the_three_plans_riding_it(
        client: TestClient, make: AccountFactory, admin: Account, agency_admin: Account,
        settings: Settings, tmp_path: Path) -> None:
    manager = make.account(Role.CASE_MANAGER)
    near = _shelter(client, admin, "Near House", 3, 1440)
    client.post("/v1/funding-sources", json={"name": "Fund", "budget_cents": 100_000},
                headers=agency_admin.headers)
    cases = [_case(client, manager, f"G-{i}", 3) for i in range(3)]
    plan = _optimise(client, manager, cases)
    assert {p["shelter_id"] for p in plan["planned"]} == {near}
    accepted = _accept(client, manager, plan["id"]).json()
    travel = {a["travel_plan_id"] for a in accepted["accepted"]}
    assert len(travel) == 3
    train = next(leg for leg in plan["planned"][0]["itinerary"]["legs"] if leg["mode"] == "rail")
    day = datetime.fromisoformat(train["depart"]).strftime("%Y%m%d")

    answer = _replan(client, manager, cancelling(train["trip_id"], day))
    assert answer["cancelled_trips"] == [train["trip_id"]]
    assert {a["travel_plan_id"] for a in answer["affected"]} == travel
    for a in answer["affected"]:
        assert "is cancelled" in a["reasons"][0]
        assert a["disruption_id"]
        # The next train leaves a day later: a hold at the only (24-hour) shelter would lapse
        # first, and there is no other shelter: no proposal, and it says why.
        assert a["proposals"] == []
        assert any("same shelter" in r for r in a["no_proposal_reasons"])
        assert "the itinerary no longer runs" in a["no_proposal_reasons"]

    # The same feed from a file, on the command line (for cron): the three plans and why.
    feed = tmp_path / "alerts.pb"
    feed.write_bytes(base64.b64decode(cancelling(train["trip_id"], day)))
    with frozen_clock(start() + timedelta(minutes=30)):
        ran = CliRunner().invoke(cli, ["travel", "realtime", str(feed)], env={
            "HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY})
    assert ran.exit_code == 0, ran.output
    assert "3 travel plans disrupted" in ran.output
    # Read twice (the API, then the file): still the same three disruptions.
    assert {f"disruption {a['disruption_id']}" for a in answer["affected"]} == {
        line.split(":")[0].split(", ")[1] for line in ran.output.splitlines()
        if "disruption" in line}
    assert ran.output.count("is cancelled") == 3

    assert _replan(client, manager, cancelling("B1", day))["affected"] == []
    # A delay the hold absorbs (30 min: the hold runs an hour past the arrival) is no
    # disruption; two hours is: the arrival comes after the hold lapses.
    assert _replan(client, manager, delaying(train["trip_id"], day, 30 * 60))["affected"] == []
    late = _replan(client, manager, delaying(train["trip_id"], day, 2 * 3600))["affected"]
    assert {a["travel_plan_id"] for a in late} == travel
    assert all("120 min late: the arrival comes after the bed hold lapses" in a["reasons"][0]
               for a in late)
    assert {a["disruption_id"] for a in late}.isdisjoint(
        {a["disruption_id"] for a in answer["affected"]})
    other_day = (datetime.fromisoformat(train["depart"]) + timedelta(days=2)).strftime("%Y%m%d")
    assert _replan(client, manager, cancelling(train["trip_id"], other_day))["affected"] == []
    stranger = make.account(Role.CASE_MANAGER, agency="Elsewhere Hotline")
    assert _replan(client, stranger, cancelling(train["trip_id"], day))["affected"] == []
    bad = client.post("/v1/return-plans/realtime", json={"feed_base64": "bm90IGEgZmVlZA=="},
                      headers=manager.headers)
    assert bad.status_code == 422
    accented = client.post("/v1/return-plans/realtime", json={"feed_base64": "café"},
                           headers=manager.headers)
    assert accented.status_code == 422  # not a 500 (found by the schema fuzzer)
