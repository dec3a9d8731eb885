"""A safety plan sent by SMS to the survivor (issue 21 items 2 and 3): only to a number the
survivor marked safe, in discreet wording unless chosen otherwise, never with a link, through
a Twilio-style provider started here; its signed delivery receipts update the message.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from delivery.models import Channel
from delivery.sms import SmsSender, receipt_signature
from delivery.worker import Worker
from tests.api.test_messages import messages
from tests.api.test_safety_plans_api import PASSPORT_HELD, _case, _plan, _screen
from tests.delivery_support import receiver
from tests.support import SAFETY_CAP_S, AccountFactory

TOKEN = "provider-auth-token-42"
RECEIPTS = "https://homeward.example.org/callbacks/sms-status"


def _number(client: TestClient, who: Any, case_id: int, url: str, **extra: Any) -> Any:
    return client.post("/v1/delivery/endpoints", json={
        "channel": "sms", "address": "+15550001111", "case_id": case_id, "secret": TOKEN,
        "settings": {"api_base": url, "account_sid": "AC0001", "from_number": "+15550009999",
                     "status_callback": RECEIPTS}, **extra}, headers=who.headers)


def test_plan_sms_goes_only_to_a_safe_number_discreetly_and_receipts_update_it(
        client: TestClient, make: AccountFactory, services: Services) -> None:
    advocate = make.account(Role.ADVOCATE)
    case_id = _case(client, advocate)
    plan = _plan(client, advocate, case_id, _screen(client, advocate, case_id, PASSPORT_HELD))
    send = f"/v1/safety-plans/{plan['id']}/send-sms"
    with receiver() as (url, got):
        refused = client.post(send, headers=advocate.headers)
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("no-safe-channel")
        assert _number(client, advocate, case_id, url).status_code == 201  # not marked safe
        assert client.post(send, headers=advocate.headers).status_code == 409
        assert _number(client, advocate, case_id, url, safe=True).status_code == 201
        queued = client.post(send, headers=advocate.headers)
        assert queued.status_code == 202, queued.text
        assert queued.json()["discreet"] is True and queued.json()["segments"] >= 1
        ids = queued.json()["message_ids"]
        rows = messages(client, advocate, kind="plan.sms")
        assert sorted(m["id"] for m in rows) == sorted(ids)
        # Text only: no data, no subject, nothing that points back to Homeward.
        assert all(m["recipient"] == f"survivor:{case_id}" and set(m["body"]) == {"text"}
                   for m in rows)

        worker = Worker(services.db, services.cipher,
                        {Channel.SMS: SmsSender(httpx.Client(timeout=SAFETY_CAP_S))}, name="sms",
                        rng=random.Random(1))
        report = worker.run_once(now=datetime.now(UTC))
        assert report.delivered == len(ids)
    assert len(got.sms) == len(ids)
    for sent in got.sms:
        assert sent["To"] == "+15550001111" and sent["From"] == "+15550009999"
        assert "http" not in sent["Body"] and "/web/" not in sent["Body"]
        assert "trafficking" not in sent["Body"].lower()  # discreet wording
        assert sent["auth"].startswith("Basic ")
    keys = {m["idempotency_key"] for m in messages(client, advocate, kind="plan.sms")}
    assert {s["idempotency"] for s in got.sms} == keys

    first = messages(client, advocate, kind="plan.sms")[-1]
    sid = "SM000001"
    params = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC0001"}
    bad = client.post("/callbacks/sms-status", data=params,
                      headers={"X-Twilio-Signature": "forged"})
    assert bad.status_code == 403
    good = client.post("/callbacks/sms-status", data=params,
                       headers={"X-Twilio-Signature": receipt_signature(TOKEN, RECEIPTS,
                                                                        params)})
    assert good.status_code == 204, good.text
    again = client.get(f"/v1/messages/{first['id']}", headers=advocate.headers).json()
    assert again["receipt"] == "delivered" and again["state"] == "delivered"
    failed = {**params, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    client.post("/callbacks/sms-status", data=failed,
                headers={"X-Twilio-Signature": receipt_signature(TOKEN, RECEIPTS, failed)})
    dead = client.get(f"/v1/messages/{first['id']}", headers=advocate.headers).json()
    assert dead["state"] == "dead" and dead["last_error"] == "carrier reported undelivered (30003)"
