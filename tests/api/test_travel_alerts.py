"""Safety alerts over HTTP: an unsafe check-in and an overdue one each raise one alert (however
often the sweep runs), only the case's agency sees and acknowledges them, both are audited,
and a plan cannot arrive while one is open. Time moves through `core.clock`, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app as cli
from api.config import Settings
from api.deps import Services
from core import clock
from core.models import Role
from tests.api.test_travel_plans import open_case
from tests.api.travel_support import load_year_round, search
from tests.conftest import TEST_KEY
from tests.support import Account, AccountFactory

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    """What `core.clock.utcnow()` answers, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def moved_clock() -> Iterator[Clock]:
    current = Clock(START)

    class _Moved(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return current.at if tz is None else current.at.astimezone(tz)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "datetime", _Moved)
        yield current


def _booked_plan(client: TestClient, services: Services, who: Account, case_id: int,
                 start: datetime) -> dict[str, Any]:
    """A booked plan for the two-bus option (a change at Kansas City: a transfer check-in and
    an arrival one), made the only way the API allows: search, then its itinerary id."""
    load_year_round(services)
    options = search(client, who, start)
    chosen = next(o for o in options if o["transfers"] == 1)
    made = client.post("/v1/travel-plans", json={"case_id": case_id,
                                                 "itinerary_id": chosen["itinerary_id"]},
                       headers=who.headers)
    assert made.status_code == 201, made.text
    plan = dict(made.json())
    for body in ({"status": "approved"}, {"status": "booked", "booking_references": ["R1"]}):
        moved = client.post(f"/v1/travel-plans/{plan['id']}/status", json=body,
                            headers=who.headers)
        assert moved.status_code == 200, moved.text
    return plan


def _until(clock_: Clock, due: str, **after: float) -> None:
    """Move the clock to a check-in's due time plus `after`."""
    clock_.at = datetime.fromisoformat(due) + timedelta(**after)


def _alerts(client: TestClient, who: Account, **params: Any) -> Any:
    answer = client.get("/v1/alerts", params=params, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_overdue_and_unsafe_check_ins_raise_alerts_that_block_arrival(
        client: TestClient, make: AccountFactory, admin: Account, services: Services,
        settings: Settings, moved_clock: Clock) -> None:
    manager = make.account(Role.CASE_MANAGER)
    theirs = make.account(Role.CASE_MANAGER, agency="Elsewhere Services")
    case_id = open_case(client, manager)
    plan = _booked_plan(client, services, manager, case_id, START)
    pid, (transfer, arrival) = plan["id"], [c["id"] for c in plan["check_ins"]]
    assert _alerts(client, manager, case_id=case_id) == []

    # The transfer check-in has 15 minutes' grace after it falls due; then it is overdue.
    _until(moved_clock, plan["check_ins"][0]["due_at"], minutes=14)
    assert _alerts(client, manager, case_id=case_id, open=True) == []
    moved_clock.move(minutes=2)
    raised = _alerts(client, manager, case_id=case_id, open=True)
    assert [(a["kind"], a["check_in_id"], a["open"]) for a in raised] == [
        ("overdue", transfer, True)]
    # Listing again, listing plans and the CLI sweep raise nothing more: one alert per miss.
    assert client.get("/v1/travel-plans", params={"case_id": case_id},
                      headers=manager.headers).status_code == 200
    swept = CliRunner().invoke(cli, ["travel", "sweep-checkins"], env={
        "HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY})
    assert swept.exit_code == 0 and "0 overdue check-in alerts raised" in swept.output
    assert len(_alerts(client, manager, case_id=case_id)) == 1

    # A late "safe" does not close the alert; an unsafe arrival raises a second one.
    client.post(f"/v1/travel-plans/{pid}/check-ins/{transfer}", json={"safe": True},
                headers=manager.headers)
    client.post(f"/v1/travel-plans/{pid}/status", json={"status": "in_transit"},
                headers=manager.headers)
    unsafe = client.post(f"/v1/travel-plans/{pid}/check-ins/{arrival}",
                         json={"safe": False, "note": "followed at the station"},
                         headers=manager.headers)
    assert unsafe.status_code == 200
    both = _alerts(client, manager, case_id=case_id, open=True)
    assert sorted(a["kind"] for a in both) == ["overdue", "unsafe"]

    blocked = client.post(f"/v1/travel-plans/{pid}/status", json={"status": "arrived"},
                          headers=manager.headers)
    assert blocked.status_code == 409
    assert blocked.json()["type"].endswith("open-alerts")
    assert "2 open safety alert" in blocked.json()["detail"]

    # Another agency sees nothing and cannot acknowledge; the case itself is a 404 to it.
    assert _alerts(client, theirs) == []
    assert client.get("/v1/alerts", params={"case_id": case_id},
                      headers=theirs.headers).status_code == 404
    first = both[0]["id"]
    assert client.post(f"/v1/alerts/{first}/acknowledge", json={},
                       headers=theirs.headers).status_code == 404

    done = client.post(f"/v1/alerts/{first}/acknowledge",
                       json={"note": "CANARY-ACK called her, safe"}, headers=manager.headers)
    assert done.status_code == 200, done.text
    assert done.json()["open"] is False and done.json()["acknowledged_by"] == manager.id
    assert client.post(f"/v1/alerts/{first}/acknowledge", json={},
                       headers=manager.headers).status_code == 409
    assert client.post(f"/v1/travel-plans/{pid}/status", json={"status": "arrived"},
                       headers=manager.headers).status_code == 409
    client.post(f"/v1/alerts/{both[1]['id']}/acknowledge", json={}, headers=manager.headers)
    assert _alerts(client, manager, case_id=case_id, open=True) == []
    assert len(_alerts(client, manager, case_id=case_id, open=False)) == 2
    arrived = client.post(f"/v1/travel-plans/{pid}/status", json={"status": "arrived"},
                          headers=manager.headers)
    assert arrived.status_code == 200 and arrived.json()["status"] == "arrived"

    rows = client.get("/v1/audit", params={"object_type": "travel_alert"},
                      headers=admin.headers).json()
    actions = [r["action"] for r in rows]
    assert actions.count("travel_alert.acknowledge") == 2
    assert "travel_alert.list_read" in actions and "travel_alert.raise" in actions
    assert all("CANARY" not in str(r["details"]) for r in rows)
    with services.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT note_sealed FROM travel_alert")).all()
    assert all(b"CANARY" not in bytes(r[0] or b"") for r in stored)


def test_an_overdue_check_in_blocks_arrival_even_before_any_sweep(
        client: TestClient, services: Services, make: AccountFactory,
        moved_clock: Clock) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    plan = _booked_plan(client, services, manager, case_id, START)
    pid = plan["id"]
    client.post(f"/v1/travel-plans/{pid}/status", json={"status": "in_transit"},
                headers=manager.headers)
    # every check-in missed, nobody has listed anything
    _until(moved_clock, plan["check_ins"][-1]["due_at"], hours=1)
    blocked = client.post(f"/v1/travel-plans/{pid}/status", json={"status": "arrived"},
                          headers=manager.headers)
    assert blocked.status_code == 409 and blocked.json()["type"].endswith("open-alerts")
    # The refusal kept the alerts it found.
    assert [a["kind"] for a in _alerts(client, manager, open=True)] == ["overdue", "overdue"]


def test_case_manager_sees_the_banner_and_acknowledges_on_the_web(
        client: TestClient, services: Services, make: AccountFactory,
        moved_clock: Clock) -> None:
    from tests.api.web_support import sign_in

    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    plan = _booked_plan(client, services, manager, case_id, START)
    pid, first = plan["id"], plan["check_ins"][0]["id"]
    token = sign_in(client, services, manager.name, next_page=f"/web/travel/plans/{pid}")
    assert "alert-banner" not in client.get(f"/web/travel/plans/{pid}").text
    client.post(f"/web/travel/plans/{pid}/check-ins/{first}",
                data={"csrf_token": token, "safe": "no"})
    page = client.get(f"/web/travel/plans/{pid}").text
    alert = _alerts(client, manager, case_id=case_id, open=True)[0]["id"]
    assert "A check-in was recorded as not safe." in page and f'id="ack-{alert}"' in page
    assert f"/web/travel/plans/{pid}#alert-{alert}" in client.get("/web/travel").text
    assert f"/web/travel/plans/{pid}#alert-{alert}" in client.get(f"/web/cases/{case_id}").text
    done = client.post(f"/web/travel/plans/{pid}/alerts/{alert}/acknowledge",
                       data={"csrf_token": token, "note": "spoke to her"})
    assert done.status_code == 200 and "Alert acknowledged." in done.text
    assert "alert-banner" not in done.text
    assert _alerts(client, manager, case_id=case_id, open=True) == []
