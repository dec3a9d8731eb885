"""Consent releases and referrals over HTTP: what leaves a case, and only with consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from api.deps import Services
from core.models import AuditEntry, Role
from network.referrals.models import Referral
from tests.api.test_cases import case_body
from tests.api.test_directory import org_body
from tests.support import Account, AccountFactory


def _setup(client: TestClient, admin: Account, make: AccountFactory) -> tuple[Account, int, int]:
    advocate = make.account(Role.ADVOCATE)
    case = client.post("/v1/cases", json=case_body(
        location={"lat": 29.76, "lon": -95.37, "city": "Houston", "state": "TX"},
        notes="canary-note-7781"), headers=advocate.headers)
    assert case.status_code == 201, case.text
    org = client.post("/v1/directory/organizations", json=org_body(), headers=admin.headers)
    return advocate, case.json()["id"], org.json()["id"]


def _release(client: TestClient, who: Account, case_id: int, org_id: int,
             **overrides: Any) -> Any:
    body = {"recipient_id": org_id, "fields": ["household", "languages"],
            "purpose": "legal representation", **overrides}
    return client.post(f"/v1/cases/{case_id}/releases", json=body, headers=who.headers)


def _refer(client: TestClient, who: Account, case_id: int, org_id: int, **extra: Any) -> Any:
    body = {"case_id": case_id, "recipient_id": org_id, "service_type": "legal", **extra}
    return client.post("/v1/referrals", json=body, headers=who.headers)


def test_deidentified_referral_needs_no_release(client: TestClient, admin: Account,
                                                make: AccountFactory) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    sent = _refer(client, advocate, case_id, org_id)
    assert sent.status_code == 201, sent.text
    referral = sent.json()
    assert referral["deidentified"] and referral["fields"] == [] and referral["status"] == "sent"
    assert referral["shared"] == {"service_type": "legal", "state": "TX", "language": "es",
                                  "trafficking_type": "labor"}


def test_sharing_without_a_release_is_403_naming_it(client: TestClient, admin: Account,
                                                    make: AccountFactory) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    refused = _refer(client, advocate, case_id, org_id, fields=["household"])
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["type"] == "urn:homeward:problem:release-missing"
    assert problem["missing_release"] == {"case_id": case_id, "recipient_id": org_id,
                                          "fields": ["household"]}
    assert f"organization {org_id}" in problem["detail"] and "household" in problem["detail"]


def test_partial_consent_shares_only_covered_fields(client: TestClient, admin: Account,
                                                    make: AccountFactory,
                                                    services: Services) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    release = _release(client, advocate, case_id, org_id)
    assert release.status_code == 201, release.text
    assert release.json()["active"] and release.json()["purpose"] == "legal representation"
    sent = _refer(client, advocate, case_id, org_id)
    assert sent.status_code == 201
    shared = sent.json()["shared"]
    assert set(shared) == {"service_type", "state", "language", "trafficking_type",
                           "household", "languages"}
    assert shared["household"] == [{"age": 34, "gender": "female"}, {"age": 6, "gender": "male"}]
    assert sent.json()["release_ids"] == [release.json()["id"]]
    refused = _refer(client, advocate, case_id, org_id, fields=["household", "notes",
                                                                "location"])
    assert refused.status_code == 403
    assert refused.json()["missing_release"]["fields"] == ["location", "notes"]
    with services.db.read_session() as session:
        stored = session.exec(select(Referral)).all()
        assert all(b"canary" not in r.payload_sealed and b"female" not in r.payload_sealed
                   for r in stored)
        actions = [a.action for a in session.exec(select(AuditEntry))]
    assert actions.count("referral.share") == 1 and actions.count("referral.share_refused") == 1


def test_revocation_and_expiry_take_effect_at_once(client: TestClient, admin: Account,
                                                   make: AccountFactory,
                                                   services: Services) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    release = _release(client, advocate, case_id, org_id).json()
    assert _refer(client, advocate, case_id, org_id, fields=["household"]).status_code == 201
    revoked = client.post(f"/v1/releases/{release['id']}/revoke", headers=advocate.headers)
    assert revoked.status_code == 200 and not revoked.json()["active"]
    assert _refer(client, advocate, case_id, org_id, fields=["household"]).status_code == 403
    # Expiry: a release that ends one second from now stops covering anything after it.
    soon = datetime.now(UTC) + timedelta(seconds=1)
    short = _release(client, advocate, case_id, org_id, expires_at=soon.isoformat())
    assert short.status_code == 201
    assert _refer(client, advocate, case_id, org_id, fields=["household"]).status_code == 201
    from network.consent.models import Release

    with services.db.write_session() as session:
        row = session.get(Release, short.json()["id"])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)  # the clock moved on
        session.add(row)
        session.commit()
    assert _refer(client, advocate, case_id, org_id, fields=["household"]).status_code == 403
    listed = client.get(f"/v1/cases/{case_id}/releases", headers=advocate.headers).json()
    assert [r["active"] for r in listed] == [False, False]


def test_release_input_errors_name_the_field(client: TestClient, admin: Account,
                                             make: AccountFactory) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    late = (datetime.now(UTC) + timedelta(days=91)).isoformat()
    for body in ({"expires_at": past}, {"expires_at": late}):
        response = _release(client, advocate, case_id, org_id, **body)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["expires_at"]
    unknown = _release(client, advocate, case_id, 999_999)
    assert [e["field"] for e in unknown.json()["errors"]] == ["recipient_id"]
    bad_field = _release(client, advocate, case_id, org_id, fields=["bank_account"])
    assert bad_field.status_code == 422
    bad_type = _refer(client, advocate, case_id, org_id, service_type="astrology")
    assert [e["field"] for e in bad_type.json()["errors"]] == ["body.service_type"]


def test_other_agencies_get_404_and_coordinators_403(client: TestClient, admin: Account,
                                                     make: AccountFactory) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    release = _release(client, advocate, case_id, org_id).json()
    referral = _refer(client, advocate, case_id, org_id).json()
    stranger = make.account(Role.CASE_MANAGER, agency="Another Hotline")
    assert _release(client, stranger, case_id, org_id).status_code == 404
    assert client.get(f"/v1/cases/{case_id}/releases",
                      headers=stranger.headers).status_code == 404
    assert client.post(f"/v1/releases/{release['id']}/revoke",
                       headers=stranger.headers).status_code == 404
    assert _refer(client, stranger, case_id, org_id).status_code == 404
    assert client.get(f"/v1/referrals/{referral['id']}",
                      headers=stranger.headers).status_code == 404
    assert client.get("/v1/referrals", headers=stranger.headers).json() == []
    assert client.get(f"/v1/referrals/{referral['id']}", headers=admin.headers).status_code == 200


def test_status_machine_and_overdue_follow_ups(client: TestClient, admin: Account,
                                               make: AccountFactory) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    due = _refer(client, advocate, case_id, org_id, follow_up_at=past).json()
    later = _refer(client, advocate, case_id, org_id,
                   follow_up_at=(datetime.now(UTC) + timedelta(days=7)).isoformat()).json()
    overdue = client.get("/v1/referrals?overdue=true", headers=advocate.headers).json()
    assert [r["id"] for r in overdue] == [due["id"]] and overdue[0]["overdue"]
    h = {**advocate.headers, "If-Match": '"1"'}
    url = f"/v1/referrals/{due['id']}"
    assert client.patch(url, json={"status": "completed"}, headers=h).status_code == 409
    accepted = client.patch(url, json={"status": "accepted"}, headers=h)
    assert accepted.status_code == 200 and accepted.json()["version"] == 2
    assert client.patch(url, json={"status": "declined"}, headers=h).status_code == 412
    assert client.patch(url, json={"status": "declined"},
                        headers={**advocate.headers, "If-Match": '"2"'}).status_code == 409
    done = client.patch(url, json={"status": "completed"},
                        headers={**advocate.headers, "If-Match": '"2"'})
    assert done.json()["status"] == "completed" and not done.json()["overdue"]
    assert client.get("/v1/referrals?overdue=true", headers=advocate.headers).json() == []
    assert client.patch(f"/v1/referrals/{later['id']}", json={"status": "accepted"},
                        headers=advocate.headers).status_code == 428
    by_case = client.get(f"/v1/referrals?case_id={case_id}", headers=advocate.headers).json()
    assert len(by_case) == 2
