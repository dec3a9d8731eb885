"""Alert messages and their escalation (issue 21 item 4), and messages purged with the case.

An unsafe or overdue check-in enqueues, in its own transaction, a message to the case manager
and a later one to the agency's on-call contact; acknowledging the alert cancels the later one.
The clock is moved (`moved_clock`) and the worker driven with `run_once(now=...)`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from api.deps import Services
from core.models import Role
from tests.api.test_messages import messages, webhook, worker
from tests.api.test_travel_alerts import START, Clock, _booked_plan, _until, moved_clock
from tests.api.test_travel_plans import open_case
from tests.delivery_support import receiver
from tests.support import Account, AccountFactory

__all__ = ["moved_clock"]


def test_unsafe_check_in_alerts_the_manager_then_escalates_unless_acknowledged(
        client: TestClient, make: AccountFactory, admin: Account, services: Services,
        moved_clock: Clock) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    plan = _booked_plan(client, services, manager, case_id, START)
    pid, (transfer, arrival) = plan["id"], [c["id"] for c in plan["check_ins"]]
    with receiver() as (url, got):
        mine = webhook(client, manager, url, account_id=manager.id)
        assert mine["account_id"] == manager.id
        webhook(client, admin, url + "/on-call", agency_id=manager.agency_id,
                purpose="on_call", settings={"escalate_after_minutes": 30})
        moved_clock.at = START + timedelta(hours=1)
        client.post(f"/v1/travel-plans/{pid}/check-ins/{transfer}", json={"safe": False},
                    headers=manager.headers)
        queued = messages(client, manager, case_id=case_id)
        assert sorted((m["kind"], m["escalation_level"], m["state"]) for m in queued) == [
            ("alert.escalated", 1, "pending"), ("alert.raised", 0, "pending")]
        escalation = next(m for m in queued if m["escalation_level"] == 1)
        assert datetime.fromisoformat(escalation["next_attempt_at"]) == moved_clock.at + \
            timedelta(minutes=30)
        assert escalation["recipient"] == f"agency:{manager.agency_id}:on_call"

        run = worker(services)
        assert run.run_once(now=moved_clock.at).delivered == 1  # the manager, at once
        [first] = got.documents.values()
        assert first["kind"] == "alert.raised" and first["data"]["case_ref"] == "C-77"
        assert run.run_once(now=moved_clock.at + timedelta(minutes=29)).claimed == 0
        assert run.run_once(now=moved_clock.at + timedelta(minutes=30)).delivered == 1
        assert [d["kind"] for d in got.documents.values()] == ["alert.raised",
                                                               "alert.escalated"]
        # The overdue arrival check-in: acknowledged in time, so on-call never hears of it.
        _until(moved_clock, plan["check_ins"][1]["due_at"], minutes=16)
        [alert] = [a for a in client.get("/v1/alerts", params={"open": True},
                                         headers=manager.headers).json()
                   if a["check_in_id"] == arrival]
        assert run.run_once(now=moved_clock.at).delivered == 1
        done = client.post(f"/v1/alerts/{alert['id']}/acknowledge", json={},
                           headers=manager.headers)
        assert done.status_code == 200
        assert run.run_once(now=moved_clock.at + timedelta(hours=2)).claimed == 0
    states = sorted((m["kind"], m["state"]) for m in messages(client, manager,
                                                              case_id=case_id))
    assert states == [("alert.escalated", "cancelled"), ("alert.escalated", "delivered"),
                      ("alert.raised", "delivered"), ("alert.raised", "delivered")]
    rows = client.get("/v1/audit", params={"object_type": "travel_alert"},
                      headers=admin.headers).json()
    acked = next(r for r in rows if r["action"] == "travel_alert.acknowledge")
    assert acked["details"]["escalations_cancelled"] == 1


def test_without_a_manager_endpoint_the_agency_desk_hears_and_purge_removes_all(
        client: TestClient, make: AccountFactory, admin: Account, services: Services,
        moved_clock: Clock) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    plan = _booked_plan(client, services, manager, case_id, START)
    desk = webhook(client, admin, "https://desk.example.org", agency_id=manager.agency_id)
    survivor = client.post("/v1/delivery/endpoints", json={
        "channel": "sms", "address": "+15550001111", "case_id": case_id, "safe": True},
        headers=manager.headers)
    assert survivor.status_code == 201, survivor.text
    client.post(f"/v1/travel-plans/{plan['id']}/check-ins/{plan['check_ins'][0]['id']}",
                json={"safe": False}, headers=manager.headers)
    raised = [m for m in messages(client, manager) if m["kind"] == "alert.raised"]
    assert [m["endpoint_id"] for m in raised] == [desk["id"]]
    # No on-call contact: the escalation is recorded as undeliverable, not lost in silence.
    [escalated] = [m for m in messages(client, manager) if m["kind"] == "alert.escalated"]
    assert escalated["state"] == "dead"

    purged = client.post(f"/v1/cases/{case_id}/purge", headers=manager.headers)
    assert purged.status_code == 200, purged.text
    removed = purged.json()["removed"]
    assert removed["outbox_message"] == 2 and removed["delivery_endpoint"] == 1
    assert messages(client, manager) == []
    with services.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM delivery_endpoint")).scalar() == 1
