"""Sending a dead message again (`POST /v1/messages/{id}/retry`), and the retention of
messages without a case (tip notices), by `homeward messages purge` and the worker's loop.

A retry keeps the idempotency key, so a receiver that processed the message after all (its
answer lost) still processes it once. The worker is driven step by step.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from api.deps import Services
from core.models import Role
from delivery.models import OutboxMessage
from delivery.retention import Retention
from tests.api.test_consent_referrals import _refer, _setup
from tests.api.test_messages import later, messages, webhook, worker
from tests.delivery_support import receiver
from tests.support import Account, AccountFactory


def _dead(services: Services, message_id: int) -> None:
    """As if every attempt's answer had been lost: the message is dead."""
    with services.db.write_session() as session:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.id == message_id).values(  # type: ignore[arg-type]
            state="dead", last_error="gave up after 8 attempts: timeout"))
        session.commit()


def test_a_dead_message_is_sent_again_by_an_admin_and_received_once(
        client: TestClient, admin: Account, make: AccountFactory, services: Services) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    agency_admin = make.account(Role.AGENCY_ADMIN)  # the advocate's agency
    elsewhere = make.account(Role.AGENCY_ADMIN, agency="Elsewhere Services")
    assert _refer(client, advocate, case_id, org_id).status_code == 201
    [dead] = messages(client, advocate, state="dead")  # no endpoint yet
    retry = f"/v1/messages/{dead['id']}/retry"
    assert client.post(retry, headers=advocate.headers).status_code == 403
    assert client.post(retry, headers=elsewhere.headers).status_code == 404
    refused = client.post(retry, headers=agency_admin.headers)
    assert refused.status_code == 409 and "no active endpoint" in refused.json()["detail"]

    with receiver(fail_first=lambda _k: True) as (url, got):
        endpoint = webhook(client, admin, url, organization_id=org_id)
        again = client.post(retry, headers=agency_admin.headers)
        assert again.status_code == 200, again.text
        sent = again.json()
        assert (sent["state"], sent["attempts"], sent["max_attempts"], sent["endpoint_id"],
                sent["last_error"]) == ("pending", 0, 8, endpoint["id"], None)
        assert sent["idempotency_key"] == dead["idempotency_key"]
        run = worker(services)
        assert run.run_once(now=later()).retried == 1  # the receiver fails the first attempt
        assert run.run_once(now=later(60)).delivered == 1
        # Delivered, but say its answer was lost until it died: sent again, processed once.
        _dead(services, dead["id"])
        assert client.post(retry, headers=admin.headers).status_code == 200
        assert run.run_once(now=later(61)).delivered == 1
        key = dead["idempotency_key"]
        assert (got.attempts[key], got.processed[key]) == (3, 1)
    assert client.post(retry, headers=agency_admin.headers).status_code == 409  # delivered
    rows = client.get("/v1/audit", params={"object_type": "outbox_message"},
                      headers=admin.headers).json()
    retried = [r for r in rows if r["action"] == "message.retry"]
    assert sorted(r["details"]["previous_error"] for r in retried) == [
        "gave up after 8 attempts: timeout", "no active endpoint is configured for this "
                                             "recipient"]


def _tip_notices(client: TestClient, admin: Account, make: AccountFactory) -> Account:
    from tests.api.test_tips import DIRECTORY, tip

    for body in DIRECTORY:
        client.post("/v1/directory/organizations", json=body, headers=admin.headers)
    advocate = make.account(Role.ADVOCATE)
    consent = {"share_with_law_enforcement": True,
               "fields": ["trafficking_type", "jurisdictions", "description"]}
    assert client.post("/v1/tips", json=tip(consent=consent),
                       headers=advocate.headers).status_code == 201
    return advocate


def test_tip_notices_lose_their_body_then_their_row_and_case_messages_stay(
        client: TestClient, admin: Account, make: AccountFactory, services: Services,
        settings: Any) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli
    from tests.conftest import TEST_KEY

    advocate = _tip_notices(client, admin, make)  # dead: no endpoint configured
    referrer, case_id, org_id = _setup(client, admin, make)
    _refer(client, referrer, case_id, org_id)  # a case's message: purged with the case only
    tips = messages(client, admin, kind="tip.routed")
    assert tips and all(t["case_id"] is None and t["body"] for t in tips)

    env = {"HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY,
           "HOMEWARD_MESSAGE_BODY_RETENTION_DAYS": "0", "HOMEWARD_MESSAGE_ROW_RETENTION_DAYS": "3"}
    ran = CliRunner().invoke(cli, ["messages", "purge"], env=env)
    assert ran.exit_code == 0, ran.output
    assert f"bodies emptied {len(tips)}, rows deleted 0" in ran.output
    assert all(t["body"] is None for t in messages(client, admin, kind="tip.routed"))
    [referral] = messages(client, admin, kind="referral.sent")
    assert referral["body"] is not None

    # The worker's loop applies the same retention, at most once per `every`.
    run = worker(services)
    run.retention = Retention(body_days=0, row_days=3, every=timedelta(hours=1))
    assert run.keep_tidy(later(60 * 24 * 2)) == 0  # two days: rows are kept three
    assert run.keep_tidy(later(60 * 24 * 2 + 30)) == 0  # within the hour of the last run
    assert run.keep_tidy(later(60 * 24 * 4)) == len(tips)
    assert messages(client, admin, kind="tip.routed") == []
    assert len(messages(client, admin, kind="referral.sent")) == 1
    audit = client.get("/v1/audit", params={"object_type": "outbox_message"},
                       headers=admin.headers).json()
    assert sorted(r["details"]["rows_deleted"] for r in audit
                  if r["action"] == "message.retention") == [0, len(tips)]
    assert advocate.id


def test_the_messages_page_sends_a_dead_message_again_for_admins_in_spanish_too(
        client: TestClient, admin: Account, make: AccountFactory, services: Services) -> None:
    from tests.api.web_support import sign_in

    advocate, case_id, org_id = _setup(client, admin, make)
    _refer(client, advocate, case_id, org_id)
    [dead] = messages(client, advocate, state="dead")
    button = f'action="/web/messages/{dead["id"]}/retry"'
    sign_in(client, services, advocate.name, next_page="/web/messages")
    assert button not in client.get("/web/messages").text  # an advocate does not manage it
    client.cookies.clear()

    agency_admin = make.account(Role.AGENCY_ADMIN, name="desk-admin")
    csrf = sign_in(client, services, agency_admin.name, next_page="/web/messages")
    page = client.get("/web/messages", params={"state": "dead"})
    assert button in page.text and "Send again" in page.text
    forged = client.post(f"/web/messages/{dead['id']}/retry", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    refused = client.post(f"/web/messages/{dead['id']}/retry",
                          data={"csrf_token": csrf, "state": "dead"})
    assert refused.status_code == 409 and "no active endpoint reaches" in refused.text

    webhook(client, admin, "https://partner.example.org", organization_id=org_id)
    spanish = client.post(f"/web/messages/{dead['id']}/retry", data={"csrf_token": csrf},
                          headers={"Accept-Language": "es"})
    assert spanish.status_code == 200, spanish.text
    assert f"El mensaje {dead['id']} se enviará de nuevo." in spanish.text
    [again] = messages(client, advocate, kind="referral.sent")
    assert again["state"] == "pending"
    assert button not in spanish.text  # no longer dead
