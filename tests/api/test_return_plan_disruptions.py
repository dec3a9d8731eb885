"""Disruptions of accepted return plans (issue 22 item 3), step by step with a frozen clock.

A GTFS-Realtime feed cancels the train three accepted plans ride: three stored disruptions,
each alerting the case manager (and, later, on-call) through the outbox; the same feed read
again records nothing new. The one (24-hour) shelter cannot hold a bed until the next train,
but a second shelter near Denver, opened since, can: each disruption proposes it by the next
train. The manager accepts one (the old plan cancelled, its hold released, a new hold and
plan made, the escalation cancelled), rejects another, and cannot decide either twice. The
feed is then read from a local HTTP server by `homeward travel realtime --url --every`, the
first answer broken, the loop carrying on. A hold released early by the registry disrupts
its plan in the same transaction (the same shelter, the same train, a new hold proposed); a
hold that lapses before anyone marks the arrival is found by the sweep before listing.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.config import Settings
from api.deps import Services
from core.models import Role
from logistics.return_plans import feed_poll
from tests.api.test_messages import messages, webhook
from tests.api.test_return_plan_realtime import cancelling
from tests.api.test_return_plans import _accept, _feed, _optimise, _shelter, start
from tests.conftest import TEST_KEY
from tests.delivery_support import receiver
from tests.safe_house_worlds import frozen_clock
from tests.support import Account, AccountFactory

__all__ = ["_feed"]  # the feed fixture, autouse

AT = timedelta(minutes=50)  # 13:50, ten minutes before the train


def _post(client: TestClient, who: Account, path: str, at: timedelta = AT,
          **body: Any) -> Any:
    with frozen_clock(start() + at):
        return client.post(path, json=body, headers=who.headers)


def _get(client: TestClient, who: Account, path: str, at: timedelta = AT,
         **params: Any) -> Any:
    with frozen_clock(start() + at):
        answer = client.get(path, params=params, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _case_with_id(client: TestClient, who: Account, ref: str) -> int:
    made = client.post("/v1/cases", json={
        "case_ref": ref, "household": [{"age": 30, "gender": "female"}], "urgency": 3,
        "trafficking_type": "labor", "location": {"lat": 41.88, "lon": -87.64},
        "has_photo_id": True}, headers=who.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _accepted(client: TestClient, make: AccountFactory, admin: Account,
              agency_admin: Account, n: int) -> tuple[Account, int, dict[str, Any],
                                                       dict[str, Any]]:
    manager = make.account(Role.CASE_MANAGER)
    near = _shelter(client, admin, "Near House", 3, 1440)
    client.post("/v1/funding-sources", json={"name": "Fund", "budget_cents": 100_000},
                headers=agency_admin.headers)
    cases = [_case_with_id(client, manager, f"D-{i}") for i in range(n)]
    plan = _optimise(client, manager, cases)
    accepted = _accept(client, manager, plan["id"]).json()
    assert len(accepted["accepted"]) == n
    return manager, near, plan, accepted


@contextmanager
def serving(answers: list[tuple[int, bytes]]) -> Iterator[str]:
    """A local HTTP server answering each GET with the next (status, body), the last again."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answers.pop(0) if len(answers) > 1 else answers[0]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.pb"
    finally:
        server.shutdown()
        server.server_close()


def test_a_cancelled_train_is_stored_alerted_proposed_and_decided(
        client: TestClient, make: AccountFactory, admin: Account, agency_admin: Account,
        settings: Settings) -> None:
    manager, near, plan, _ = _accepted(client, make, admin, agency_admin, 3)
    train = next(leg for leg in plan["planned"][0]["itinerary"]["legs"] if leg["mode"] == "rail")
    day = datetime.fromisoformat(train["depart"]).strftime("%Y%m%d")
    feed = cancelling(train["trip_id"], day)
    other = _shelter(client, admin, "Other House", 3, 1440)
    with receiver() as (url, _got):
        webhook(client, manager, url, account_id=manager.id)
        webhook(client, admin, url + "/on-call", agency_id=manager.agency_id,
                purpose="on_call")
        answer = _post(client, manager, "/v1/return-plans/realtime", feed_base64=feed)
    assert answer.status_code == 200, answer.text
    affected = answer.json()["affected"]
    assert len(affected) == 3
    for a in affected:
        # Tomorrow's flight lands before a hold placed now lapses (the next train would not):
        # first at the same shelter (its own bed, held anew), then at the other one.
        same, elsewhere = a["proposals"]
        assert (same["kind"], same["shelter_id"]) == ("same_shelter_later_trip", near)
        assert (elsewhere["kind"], elsewhere["shelter_id"]) == ("other_shelter_other_trip",
                                                                other)
        for p in (same, elsewhere):
            assert not p["keeps_hold"]
            assert [leg["mode"] for leg in p["itinerary"]["legs"]] == ["taxi", "air", "taxi"]
        assert a["no_proposal_reasons"] == ["the itinerary no longer runs"]
    ids = sorted(a["disruption_id"] for a in affected)
    case_of = {a["disruption_id"]: a["case_id"] for a in affected}
    # The case's alerts (its bed hold also has its lapse warning queued, issue 21).
    queued = [m for m in messages(client, manager, case_id=case_of[ids[0]])
              if m["kind"].startswith("alert.")]
    assert sorted((m["kind"], m["escalation_level"], m["state"]) for m in queued) == [
        ("alert.escalated", 1, "pending"), ("alert.raised", 0, "pending")]

    # The same feed again: the same three disruptions, no new alert.
    again = _post(client, manager, "/v1/return-plans/realtime", feed_base64=feed).json()
    assert sorted(a["disruption_id"] for a in again["affected"]) == ids
    assert len([m for m in messages(client, manager, case_id=case_of[ids[0]])
                if m["kind"].startswith("alert.")]) == 2
    listed = _get(client, manager, "/v1/return-plans/disruptions", open=True)
    assert sorted(d["id"] for d in listed) == ids
    assert all(d["kind"] == "trip_cancelled" and d["status"] == "open" for d in listed)

    # Accept the first: the old plan cancelled and its hold released, a new hold and plan.
    first = next(a for a in affected if a["disruption_id"] == ids[0])
    done = _post(client, manager,
                 f"/v1/return-plans/disruptions/{ids[0]}/proposals/1/accept")
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["disruption"]["status"] == "accepted"
    assert out["released_hold_id"] == first["hold_id"]
    assert out["disruption"]["replaced_by_plan_id"] == out["travel_plan_id"]
    old = _get(client, manager, f"/v1/travel-plans/{first['travel_plan_id']}")
    assert old["status"] == "cancelled"
    new = _get(client, manager, f"/v1/travel-plans/{out['travel_plan_id']}")
    assert new["status"] == "proposed" and new["hold_id"] == out["hold_id"]
    assert new["itinerary"]["depart"] == first["proposals"][1]["itinerary"]["depart"]
    hold = _get(client, manager, f"/v1/holds/{out['hold_id']}")
    assert hold["shelter_id"] == other and hold["status"] == "active"
    assert _get(client, manager, f"/v1/holds/{first['hold_id']}")["status"] == "released"
    states = sorted((m["kind"], m["state"]) for m in messages(client, manager,
                                                              case_id=case_of[ids[0]]))
    assert [s for s in states if s[0].startswith("alert.")] == [
        ("alert.escalated", "cancelled"), ("alert.raised", "pending")]
    # Each hold, the released and the new one, had its lapse warning written with it.
    assert [s[0] for s in states].count("hold.lapsing") == 2
    # The release of the old hold raised no second disruption: its plan was cancelled first.
    assert len(_get(client, manager, "/v1/return-plans/disruptions")) == 3
    twice = _post(client, manager, f"/v1/return-plans/disruptions/{ids[0]}/proposals/1/accept")
    assert twice.status_code == 409

    # Reject the second; a colleague cannot take the third's proposals, made for the manager.
    rejected = _post(client, manager, f"/v1/return-plans/disruptions/{ids[1]}/reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert _post(client, manager,
                 f"/v1/return-plans/disruptions/{ids[1]}/reject").status_code == 409
    colleague = make.account(Role.CASE_MANAGER)
    assert _post(client, colleague, f"/v1/return-plans/disruptions/{ids[2]}/proposals/0/accept"
                 ).status_code == 409
    mine = _post(client, colleague, f"/v1/return-plans/disruptions/{ids[2]}/proposals")
    assert mine.status_code == 200, mine.text
    assert [p["kind"] for p in mine.json()["proposals"]] == ["same_shelter_later_trip",
                                                             "other_shelter_other_trip"]
    took = _post(client, colleague, f"/v1/return-plans/disruptions/{ids[2]}/proposals/0/accept")
    assert took.status_code == 200, took.text
    third = took.json()
    assert third["released_hold_id"] is not None
    assert _get(client, manager, f"/v1/holds/{third['hold_id']}")["shelter_id"] == near
    stranger = make.account(Role.CASE_MANAGER, agency="Elsewhere Hotline")
    with frozen_clock(start() + AT):
        assert client.get(f"/v1/return-plans/disruptions/{ids[2]}",
                          headers=stranger.headers).status_code == 404
    assert _get(client, stranger, "/v1/return-plans/disruptions") == []

    # The feed from a URL on a schedule: a broken answer first, then the feed; the loop goes
    # on, and the plan still riding the train is reported under its disruption.
    env = {"HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY}
    with serving([(500, b"oops"), (200, base64.b64decode(feed))]) as url, \
            frozen_clock(start() + AT):
        ran = CliRunner().invoke(cli, ["travel", "realtime", "--url", url, "--every", "0",
                                       "--rounds", "2", "--timeout", "30"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "feed not read (HTTPStatusError" in ran.output
    assert "1 travel plans disrupted" in ran.output  # the rejected one still rides it
    assert f"disruption {ids[1]}:" in ran.output
    assert len(_get(client, manager, "/v1/return-plans/disruptions")) == 3
    with serving([(200, b"not a feed")]) as url, frozen_clock(start() + AT):
        bad = CliRunner().invoke(cli, ["travel", "realtime", "--url", url], env=env)
    assert bad.exit_code == 1 and "feed not read" in bad.output


def test_a_hold_released_or_lapsed_disrupts_its_plan(
        client: TestClient, make: AccountFactory, admin: Account,
        agency_admin: Account) -> None:
    manager, near, plan, accepted = _accepted(client, make, admin, agency_admin, 2)
    first, second = accepted["accepted"]
    other = _shelter(client, admin, "Other House", 3, 1440)
    # The shelter's side releases the first hold: the disruption is there at once.
    with frozen_clock(start() + AT):
        gone = client.delete(f"/v1/holds/{first['hold_id']}", headers=admin.headers)
    assert gone.status_code == 200, gone.text
    [d] = _get(client, manager, "/v1/return-plans/disruptions", case_id=first["case_id"])
    assert d["kind"] == "hold_ended" and d["travel_plan_id"] == first["travel_plan_id"]
    assert "was released" in d["reasons"][0] and d["proposals"] is None
    made = _post(client, manager, f"/v1/return-plans/disruptions/{d['id']}/proposals").json()
    # The train still runs: its own bed again, or the other shelter by the same train (every
    # other itinerary is dominated by the train, so there is no third).
    assert [(p["kind"], p["shelter_id"]) for p in made["proposals"]] == [
        ("same_shelter_new_hold", near), ("other_shelter_same_trip", other)]
    assert len(made["no_proposal_reasons"]) == 1
    same_trip = made["proposals"][1]["itinerary"]
    assert same_trip["depart"] == plan["planned"][0]["itinerary"]["depart"]
    done = _post(client, manager, f"/v1/return-plans/disruptions/{d['id']}/proposals/0/accept")
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["released_hold_id"] is None  # it was released already
    hold = _get(client, manager, f"/v1/holds/{out['hold_id']}")
    assert hold["status"] == "active" and hold["shelter_id"] == near
    assert _get(client, manager, f"/v1/travel-plans/{out['travel_plan_id']}")["itinerary"][
        "depart"] == plan["planned"][0]["itinerary"]["depart"]

    # Nobody marks the second household arrived: after its hold lapses, the listing's sweep
    # records it, once.
    lapsed = datetime.fromisoformat(second["hold_expires_at"]) - start() + timedelta(minutes=1)
    found = _get(client, manager, "/v1/return-plans/disruptions", at=lapsed,
                 case_id=second["case_id"])
    assert [(x["kind"], x["travel_plan_id"]) for x in found] == [
        ("hold_ended", second["travel_plan_id"])]
    assert "lapsed" in found[0]["reasons"][0]
    # So did the first household's new hold, on the same train: a disruption of the new plan.
    later = _get(client, manager, "/v1/return-plans/disruptions", at=lapsed)
    assert sorted((x["travel_plan_id"], x["kind"], x["status"]) for x in later) == [
        (first["travel_plan_id"], "hold_ended", "accepted"),
        (second["travel_plan_id"], "hold_ended", "open"),
        (out["travel_plan_id"], "hold_ended", "open")]


def test_two_readers_of_the_same_feed_at_once_record_each_disruption_once(
        client: TestClient, make: AccountFactory, admin: Account, agency_admin: Account,
        services: Services) -> None:
    # On PostgreSQL (HOMEWARD_TEST_POSTGRES_URL) the two transactions really overlap; the
    # unique (plan, cause) and ON CONFLICT DO NOTHING keep it to one row and one alert each.
    manager, _, plan, accepted = _accepted(client, make, admin, agency_admin, 2)
    train = next(leg for leg in plan["planned"][0]["itinerary"]["legs"] if leg["mode"] == "rail")
    day = datetime.fromisoformat(train["depart"]).strftime("%Y%m%d")
    data = base64.b64decode(cancelling(train["trip_id"], day))
    with receiver() as (url, _got):
        webhook(client, manager, url, account_id=manager.id)
    start_line = threading.Barrier(2)
    outputs: list[list[str]] = []

    def read() -> None:
        start_line.wait()
        outputs.append(feed_poll.read_once(services.db, cipher=services.cipher,
                                           ids=services.itinerary_ids,
                                           timetables=services.timetables, data=data))

    with frozen_clock(start() + AT):
        readers = [threading.Thread(target=read) for _ in range(2)]
        for r in readers:
            r.start()
        for r in readers:
            r.join()
    assert [o[-2] for o in outputs] == ["2 travel plans disrupted"] * 2
    found = _get(client, manager, "/v1/return-plans/disruptions")
    assert sorted(d["travel_plan_id"] for d in found) == sorted(
        a["travel_plan_id"] for a in accepted["accepted"])
    for a in accepted["accepted"]:
        raised = [m for m in messages(client, manager, case_id=a["case_id"])
                  if m["kind"] == "alert.raised"]
        assert len(raised) == 1


def test_the_poll_backs_off_on_bad_answers_and_recovers(services: Services) -> None:
    empty = base64.b64decode(cancelling("NO-SUCH-TRIP", "20200101"))
    waits: list[float] = []
    lines: list[str] = []
    with serving([(500, b""), (200, b"not a feed"), (200, empty), (503, b"")]) as url:
        good = feed_poll.poll(services.db, feed_poll.Poller(url=url, timeout_s=30, every_s=1.0),
                              cipher=services.cipher, ids=services.itinerary_ids,
                              timetables=services.timetables, echo=lines.append, rounds=4,
                              sleep=waits.append)
    assert waits == [1.0, 2.0, 1.0]  # doubled after each failure, back after a good read
    assert not good
    assert [line.split(" (")[0] for line in lines if line.startswith("feed not read")] == [
        "feed not read"] * 3
    assert "0 travel plans disrupted" in lines
