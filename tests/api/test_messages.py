"""Messages over HTTP (issue 21): a change and its message commit together, the worker
delivers it to a receiver started here, and `GET /v1/messages` shows its state to those who
may see it. The worker is driven step by step (`run_once(now=...)`): nothing waits on time.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.deps import Services
from core.models import Role
from delivery.channels import WebhookSender
from delivery.models import Channel
from delivery.worker import Backoff, Worker
from tests.api.test_consent_referrals import _refer, _release, _setup
from tests.delivery_support import SECRET, receiver
from tests.support import SAFETY_CAP_S, Account, AccountFactory


def worker(services: Services, *, name: str = "w1", batch: int = 20) -> Worker:
    return Worker(services.db, services.cipher,
                  {Channel.WEBHOOK: WebhookSender(httpx.Client(timeout=SAFETY_CAP_S))}, name=name,
                  batch=batch, backoff=Backoff(base_s=10, cap_s=3600), rng=random.Random(7))


def webhook(client: TestClient, admin: Account, url: str, **owner: Any) -> dict[str, Any]:
    made = client.post("/v1/delivery/endpoints", json={
        "channel": "webhook", "address": f"{url}/hook", "secret": SECRET, **owner},
        headers=admin.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def messages(client: TestClient, who: Account, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/v1/messages", params=params, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def later(minutes: float = 0) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_a_referral_is_delivered_once_signed_and_shown_to_whom_it_may_be(
        client: TestClient, admin: Account, make: AccountFactory, services: Services) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    with receiver(fail_first=lambda _k: True) as (url, got):
        endpoint = webhook(client, admin, url, organization_id=org_id)
        assert "address" not in endpoint and "secret" not in endpoint
        assert _release(client, advocate, case_id, org_id).status_code == 201
        sent = _refer(client, advocate, case_id, org_id)
        assert sent.status_code == 201
        [queued] = messages(client, advocate, case_id=case_id)
        assert queued["state"] == "pending" and queued["kind"] == "referral.sent"
        assert queued["recipient"] == f"organization:{org_id}"
        # The message carries exactly the referral's shared payload.
        assert queued["body"]["data"]["household"] == sent.json()["shared"]["household"]
        assert {k: v for k, v in queued["body"]["data"].items()
                if k not in ("referral_id", "agency_id", "fields")} == sent.json()["shared"]

        run = worker(services)
        first = run.run_once(now=later())
        assert (first.claimed, first.retried) == (1, 1)  # the receiver failed it once
        [retrying] = messages(client, advocate, state="pending")
        assert retrying["attempts"] == 1 and retrying["last_error"] == "HTTP 503"
        due = datetime.fromisoformat(retrying["next_attempt_at"])
        assert run.run_once(now=due - timedelta(seconds=1)).claimed == 0  # not yet due
        assert run.run_once(now=due).delivered == 1
        assert run.run_once(now=due + timedelta(hours=1)).claimed == 0

    [done] = messages(client, advocate, case_id=case_id, state="delivered")
    assert done["attempts"] == 2 and got.processed[done["idempotency_key"]] == 1
    assert got.attempts[done["idempotency_key"]] == 2 and got.refused == []
    document = got.documents[done["idempotency_key"]]
    assert document["kind"] == "referral.sent" and document["id"] == done["id"]
    assert document["data"]["referral_id"] == sent.json()["id"]
    headers, _raw = got.requests[-1]
    assert headers["X-Homeward-Signature"].startswith("v1=")

    # A replayed request is refused by the receiver's check.
    from delivery.signing import SignatureRefused, WebhookVerifier
    verifier = WebhookVerifier(SECRET)
    verifier.verify(*got.requests[-1])
    try:
        verifier.verify(*got.requests[-1])
        raise AssertionError("replay accepted")
    except SignatureRefused as exc:
        assert "replayed" in str(exc)

    # Other roles of the agency see the state without the body; other agencies nothing.
    coordinator = make.account(Role.AGENCY_ADMIN)
    [plain] = messages(client, coordinator, case_id=case_id)
    assert plain["state"] == "delivered" and plain["body"] is None
    theirs = make.account(Role.CASE_MANAGER, agency="Elsewhere Services")
    assert messages(client, theirs) == []
    assert client.get(f"/v1/messages/{done['id']}", headers=theirs.headers).status_code == 404
    one = client.get(f"/v1/messages/{done['id']}", headers=advocate.headers)
    assert one.status_code == 200 and one.json()["body"]["data"]["household"]

    rows = client.get("/v1/audit", params={"object_type": "outbox_message"},
                      headers=admin.headers).json()
    assert {"message.list_read", "message.read"} <= {r["action"] for r in rows}
    with services.db.engine.connect() as conn:
        sealed = conn.execute(text("SELECT body_sealed FROM outbox_message")).scalars().all()
    assert sealed and all(b"household" not in bytes(b) for b in sealed)


def test_a_message_exists_only_if_its_change_committed(
        client: TestClient, admin: Account, make: AccountFactory, services: Services) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    webhook(client, admin, "https://partner.example.org", organization_id=org_id)
    refused = _refer(client, advocate, case_id, org_id, fields=["household"])  # no release
    assert refused.status_code == 403
    assert messages(client, advocate) == []
    assert _refer(client, advocate, case_id, org_id).status_code == 201
    assert len(messages(client, advocate)) == 1


def test_without_an_endpoint_the_message_is_dead_with_the_reason(
        client: TestClient, admin: Account, make: AccountFactory) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    assert _refer(client, advocate, case_id, org_id).status_code == 201
    [dead] = messages(client, advocate, state="dead")
    assert dead["last_error"] == "no active endpoint is configured for this recipient"


def test_a_refusing_receiver_dead_letters_and_retries_give_up(
        client: TestClient, admin: Account, make: AccountFactory, services: Services) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    with receiver(secret="another-secret-entirely") as (url, got):
        webhook(client, admin, url, organization_id=org_id)  # signed with the wrong secret
        _refer(client, advocate, case_id, org_id)
        assert worker(services).run_once(now=later()).dead == 1
    [dead] = messages(client, advocate, state="dead")
    assert dead["last_error"] == "HTTP 401" and dead["attempts"] == 1
    assert got.refused == ["signature does not verify"]

    # A receiver that is down: retried with growing delays, then dead after max_attempts.
    other = client.post("/v1/directory/organizations", json=__import__(
        "tests.api.test_directory", fromlist=["org_body"]).org_body(name="Down Legal"),
        headers=admin.headers).json()["id"]
    webhook(client, admin, "http://127.0.0.1:9", organization_id=other)
    _refer(client, advocate, case_id, other)
    run, now, waits = worker(services), later(), []
    for _ in range(8):
        report = run.run_once(now=now)
        assert report.claimed == 1
        [row] = [m for m in messages(client, advocate) if m["recipient"].endswith(str(other))]
        if row["state"] == "dead":
            break
        due = datetime.fromisoformat(row["next_attempt_at"])
        waits.append((due - now).total_seconds())
        now = due
    assert row["state"] == "dead" and row["attempts"] == 8
    assert row["last_error"].startswith("gave up after 8 attempts")
    assert all(b > a for a, b in itertools.pairwise(waits))  # exponential


def test_endpoint_rules(client: TestClient, admin: Account, make: AccountFactory) -> None:
    _advocate, _case_id, org_id = _setup(client, admin, make)
    plain = client.post("/v1/delivery/endpoints", json={
        "channel": "webhook", "address": "http://partner.example.org/hook", "secret": SECRET,
        "organization_id": org_id}, headers=admin.headers)
    assert plain.status_code == 422  # https only, except to loopback
    manager = make.account(Role.CASE_MANAGER)
    refused = client.post("/v1/delivery/endpoints", json={
        "channel": "webhook", "address": "https://x.example.org/hook", "secret": SECRET,
        "organization_id": org_id}, headers=manager.headers)
    assert refused.status_code == 403
    own = client.post("/v1/delivery/endpoints", json={
        "channel": "email", "address": "cm@agency.example.org", "account_id": manager.id},
        headers=manager.headers)
    assert own.status_code == 201, own.text


def test_tip_notices_carry_only_the_shared_fields(client: TestClient, admin: Account,
                                                  make: AccountFactory,
                                                  services: Services) -> None:
    from tests.api.test_tips import DIRECTORY, tip

    ids = []
    for body in DIRECTORY:
        made = client.post("/v1/directory/organizations", json=body, headers=admin.headers)
        ids.append(made.json()["id"])
    advocate = make.account(Role.ADVOCATE)
    with receiver() as (url, got):
        for org in ids:
            webhook(client, admin, url, organization_id=org)
        consent = {"share_with_law_enforcement": True,
                   "fields": ["trafficking_type", "jurisdictions", "description"]}
        routed = client.post("/v1/tips", json=tip(consent=consent), headers=advocate.headers)
        assert routed.status_code == 201
        routing = routed.json()["routing"]
        queued = messages(client, advocate, kind="tip.routed")
        assert len(queued) == len(routing["contacts"]) == 4
        assert worker(services).run_once(now=later()).delivered == 4
    assert len(got.documents) == 4
    for document in got.documents.values():
        assert document["data"]["shared"] == routing["share"]
        assert "caller_contact" not in str(document) and "CANARY" not in str(document)

    # Without consent for an adult, nothing is shared and nothing is sent.
    client.post("/v1/tips", json=tip(consent={}), headers=advocate.headers)
    assert len(messages(client, advocate, kind="tip.routed")) == 4


def test_the_worker_command_delivers_one_round(
        client: TestClient, admin: Account, make: AccountFactory, settings: Any) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli
    from tests.conftest import TEST_KEY

    advocate, case_id, org_id = _setup(client, admin, make)
    with receiver() as (url, got):
        webhook(client, admin, url, organization_id=org_id)
        _refer(client, advocate, case_id, org_id)
        ran = CliRunner().invoke(cli, ["worker", "--once", "--name", "cli"], env={
            "HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY})
        assert ran.exit_code == 0, ran.output
        assert "claimed 1, delivered 1, retrying 0, dead 0" in ran.output
    assert len(got.processed) == 1


@pytest.mark.servers
def test_serve_with_worker_delivers_a_referral_made_over_http(
        database_url: str, services: Services, make: AccountFactory, tmp_path: Path) -> None:
    """The real thing: `homeward serve --with-worker`, a referral over HTTP, the receiver
    gets it. Waits on the receiver having it, while the server lives."""
    from tests.api.test_directory import org_body
    from tests.conftest import TEST_KEY
    from tests.support import served, wait_for

    admin = make.account(Role.PLATFORM_ADMIN, name="root")
    advocate = make.account(Role.ADVOCATE)
    with receiver() as (url, got), served(
            database_url, TEST_KEY, tmp_path, args=["--with-worker"],
            env={"HOMEWARD_DELIVERY_IDLE_S": "0.1"}) as base, httpx.Client(base_url=base) as http:
        org = http.post("/v1/directory/organizations", json=org_body(),
                        headers=admin.headers).json()["id"]
        assert http.post("/v1/delivery/endpoints", json={
            "channel": "webhook", "address": f"{url}/hook", "secret": SECRET,
            "organization_id": org}, headers=admin.headers).status_code == 201
        case = http.post("/v1/cases", json=__import__(
            "tests.api.test_cases", fromlist=["case_body"]).case_body(),
            headers=advocate.headers).json()["id"]
        assert http.post("/v1/referrals", json={"case_id": case, "recipient_id": org,
                                                "service_type": "legal"},
                         headers=advocate.headers).status_code == 201
        wait_for(lambda: len(got.processed) == 1, what="the worker to deliver the referral")
        [state] = [m["state"] for m in http.get("/v1/messages",
                                                headers=advocate.headers).json()]
    assert state in ("delivered", "sending")  # the receiver has it; the row may lag a moment


def test_the_messages_page_shows_state_without_bodies(
        client: TestClient, admin: Account, make: AccountFactory, services: Services) -> None:
    from tests.api.web_support import sign_in

    advocate, case_id, org_id = _setup(client, admin, make)
    _release(client, advocate, case_id, org_id)
    _refer(client, advocate, case_id, org_id)
    [row] = messages(client, advocate)
    sign_in(client, services, advocate.name, next_page="/web/messages")
    page = client.get("/web/messages")
    assert page.status_code == 200
    assert f'id="message-{row["id"]}"' in page.text and "referral.sent" in page.text
    assert "no active endpoint is configured" in page.text
    assert 'href="/web/messages"' in page.text  # in the menu
    assert row["body"]["data"]["household"] and "household" not in page.text  # no bodies
    none = client.get("/web/messages", params={"state": "delivered", "case_id": case_id})
    assert "No messages." in none.text
