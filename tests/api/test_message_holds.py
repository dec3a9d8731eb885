"""A bed hold's lapse warning (issue 21 item 1) through HTTP, the worker driven step by step.

Every hold is staged in one place (`holds._stage`), which writes the warning in the hold's own
transaction, due HOMEWARD_HOLD_LAPSE_WARNING_MINUTES (15 here) before the hold expires, to the
case's case manager, else the holder, else the agency desk. Confirming or releasing the hold
cancels it; a hold that lapsed or was extended meanwhile is skipped by the worker's guard with
the reason recorded. The single, batch and travel-plan paths are shown.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.deps import Services
from api.services import delivery_guards
from core.models import Role
from delivery.channels import WebhookSender
from delivery.models import Channel
from delivery.worker import Backoff, Worker
from logistics.beds import holds_warning
from logistics.beds.models import BedHold
from tests.api.test_batch_holds import _batch, _cases, _shelter
from tests.api.test_messages import messages, webhook
from tests.api.test_travel_plans import open_case
from tests.delivery_support import receiver
from tests.support import SAFETY_CAP_S, Account, AccountFactory

LEAD = timedelta(minutes=15)


def worker(services: Services) -> Worker:
    return Worker(services.db, services.cipher,
                  {Channel.WEBHOOK: WebhookSender(httpx.Client(timeout=SAFETY_CAP_S))}, name="w1",
                  backoff=Backoff(base_s=10, cap_s=3600), rng=random.Random(7),
                  guards=delivery_guards())


def _hold(client: TestClient, who: Account, shelter_id: int, case_ref: str = "C-77",
          ttl: int = 60) -> dict[str, Any]:
    made = client.post(f"/v1/shelters/{shelter_id}/holds", headers=who.headers, json={
        "bed_type": "adult_female", "beds": 1, "case_ref": case_ref, "ttl_minutes": ttl})
    assert made.status_code == 201, made.text
    return dict(made.json())


def _warnings(client: TestClient, who: Account) -> list[dict[str, Any]]:
    return messages(client, who, kind="hold.lapsing")


def test_the_case_manager_hears_before_a_hold_lapses_and_only_what_the_agency_sees(
        client: TestClient, make: AccountFactory, admin: Account, services: Services) -> None:
    manager = make.account(Role.CASE_MANAGER)
    advocate = make.account(Role.ADVOCATE)  # the same agency: the hotline
    case_id = open_case(client, manager)
    shelter = _shelter(client, admin, make.agency("Gulf Coast Shelters"))
    with receiver() as (url, got):
        webhook(client, manager, url, account_id=manager.id)
        webhook(client, advocate, url + "/advocate", account_id=advocate.id)
        hold = _hold(client, advocate, shelter)  # held by the advocate, for the manager's case
        expires = datetime.fromisoformat(hold["expires_at"])
        [warning] = _warnings(client, manager)
        assert warning["recipient"] == f"account:{manager.id}"
        assert warning["case_id"] == case_id and warning["state"] == "pending"
        assert warning["source_type"] == "bed_hold" and warning["source_id"] == str(hold["id"])
        assert datetime.fromisoformat(warning["next_attempt_at"]) == expires - LEAD

        run = worker(services)
        assert run.run_once(now=expires - LEAD - timedelta(seconds=1)).claimed == 0
        assert run.run_once(now=expires - LEAD).delivered == 1
        [document] = got.documents.values()
        assert document["kind"] == "hold.lapsing"
        assert document["data"] == {
            "hold_id": hold["id"], "shelter_id": shelter, "bed_type": "adult_female",
            "beds": 1, "case_ref": "C-77", "expires_at": expires.isoformat()}
        assert "C-77" in document["text"] and "household" not in str(document)


def test_confirming_or_releasing_cancels_and_a_moot_warning_is_skipped_with_the_reason(
        client: TestClient, make: AccountFactory, admin: Account, services: Services) -> None:
    advocate = make.account(Role.ADVOCATE)
    shelter = _shelter(client, admin, make.agency("Gulf Coast Shelters"))
    with receiver() as (url, got):
        webhook(client, admin, url, agency_id=advocate.agency_id)  # no personal endpoint
        confirmed = _hold(client, advocate, shelter, case_ref="K-1")
        released = _hold(client, advocate, shelter, case_ref="K-2")
        lapsed = _hold(client, advocate, shelter, case_ref="K-3")
        extended = _hold(client, advocate, shelter, case_ref="K-4")
        short = _hold(client, advocate, shelter, case_ref="K-5", ttl=10)  # shorter than lead
        assert client.post(f"/v1/holds/{confirmed['id']}/confirm",
                           headers=advocate.headers).status_code == 200
        assert client.delete(f"/v1/holds/{released['id']}",
                             headers=advocate.headers).status_code == 200
        by_hold = {m["source_id"]: m for m in _warnings(client, advocate)}
        assert str(short["id"]) not in by_hold
        assert by_hold[str(confirmed["id"])]["state"] == "cancelled"
        assert by_hold[str(confirmed["id"])]["last_error"] == "hold confirmed"
        assert by_hold[str(released["id"])]["last_error"] == "hold released"
        assert by_hold[str(lapsed["id"])]["recipient"] == f"agency:{advocate.agency_id}:default"

        # The extended hold: its expiry moves (as an extension would), its warning follows.
        later = datetime.fromisoformat(extended["expires_at"]) + timedelta(hours=1)
        with services.db.write_session() as session:
            session.execute(update(BedHold).where(BedHold.id == extended["id"])  # type: ignore[arg-type]
                            .values(expires_at=later))
            row = session.get(BedHold, extended["id"])
            assert row is not None
            [new] = holds_warning.reschedule(session, hold=row, now=datetime.now(later.tzinfo))
            session.commit()
        # A hold that lapsed before its warning could leave: skipped when claimed.
        run = worker(services)
        after = datetime.fromisoformat(lapsed["expires_at"]) + timedelta(minutes=1)
        report = run.run_once(now=after)
        assert (report.claimed, report.skipped, report.delivered) == (1, 1, 0)
        assert run.run_once(now=later - LEAD).delivered == 1
        assert [d["data"]["hold_id"] for d in got.documents.values()] == [extended["id"]]
    by_hold = {m["id"]: m for m in _warnings(client, advocate)}
    assert by_hold[new.id]["state"] == "delivered"
    states = sorted((m["source_id"], m["state"], m["last_error"])
                    for m in by_hold.values() if m["id"] != new.id)
    assert states == sorted([
        (str(confirmed["id"]), "cancelled", "hold confirmed"),
        (str(released["id"]), "cancelled", "hold released"),
        (str(lapsed["id"]), "cancelled", "skipped: hold already lapsed"),
        (str(extended["id"]), "cancelled", "hold extended: warning rescheduled")])


def test_a_batch_hold_warns_through_the_same_place(
        client: TestClient, make: AccountFactory, admin: Account, services: Services) -> None:
    advocate = make.account(Role.ADVOCATE)
    _shelter(client, admin, make.agency("Gulf Coast Shelters"))
    webhook(client, admin, "https://desk.example.org", agency_id=advocate.agency_id)
    done = _batch(client, advocate, _cases("B", 2))
    assert done.status_code == 200, done.text
    held = {str(a["hold_id"]) for a in done.json()["assignments"]}
    assert len(held) == 2
    assert {m["source_id"] for m in _warnings(client, advocate)} == held


def test_a_failing_guard_does_not_stall_the_queue(
        client: TestClient, make: AccountFactory, admin: Account, services: Services) -> None:
    from sqlalchemy import text

    advocate = make.account(Role.ADVOCATE)
    shelter = _shelter(client, admin, make.agency("Gulf Coast Shelters"))

    def broken(session: Any, message: Any, body: Any, now: datetime) -> str | None:
        session.execute(text("SELECT * FROM no_such_table"))  # fails inside the claim
        return "never"

    with receiver() as (url, got):
        webhook(client, admin, url, agency_id=advocate.agency_id)
        hold = _hold(client, advocate, shelter, case_ref="G-1")
        run = Worker(services.db, services.cipher,
                     {Channel.WEBHOOK: WebhookSender(httpx.Client(timeout=SAFETY_CAP_S))},
                     name="w2",
                     guards={"hold.lapsing": broken})
        due = datetime.fromisoformat(hold["expires_at"]) - LEAD
        assert run.run_once(now=due).delivered == 1
        assert len(got.processed) == 1


def test_a_travel_plan_bed_warns_and_cancelling_the_plan_cancels_the_warning(
        client: TestClient, make: AccountFactory, admin: Account, services: Services) -> None:
    from tests.api.test_travel_plans import _move, _plan
    from tests.api.travel_support import load_year_round, tomorrow
    from tests.support import shelter_body

    load_year_round(services)
    manager = make.account(Role.CASE_MANAGER)
    shelter = client.post("/v1/shelters", json=shelter_body(admin.agency_id,
                                                            max_hold_minutes=1440),
                          headers=admin.headers).json()["id"]
    case_id = open_case(client, manager)
    webhook(client, manager, "https://pager.example.org", account_id=manager.id)
    plan = _plan(client, manager, case_id, tomorrow().replace(hour=13), shelter_id=shelter,
                 bed_type="adult_female", hold_buffer_minutes=90)
    [warning] = _warnings(client, manager)
    assert warning["source_id"] == str(plan["hold_id"]) and warning["case_id"] == case_id
    assert datetime.fromisoformat(warning["next_attempt_at"]) == datetime.fromisoformat(
        plan["hold"]["expires_at"]) - LEAD
    _move(client, manager, plan["id"], "cancelled")  # releases the hold in its transaction
    [warning] = _warnings(client, manager)
    assert (warning["state"], warning["last_error"]) == ("cancelled", "hold released")
