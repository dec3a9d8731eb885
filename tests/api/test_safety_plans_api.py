"""Safety plans over HTTP: screenings, plans, renderings, edits as revisions, proposals, privacy."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from core.models import Role
from tests.api.test_cases import case_body
from tests.support import Account, AccountFactory

PASSPORT_HELD = {"documents_held": True, "wages_withheld": True, "debt_bondage": True,
                 "lives_with_trafficker": True, "needs_legal_immigration": True}
DANGER = {"weapon_threat": True, "threatened_to_kill": True, "phone_monitored": True}


def _case(client: TestClient, who: Account, ref: str = "C-1042") -> int:
    created = client.post("/v1/cases", json=case_body(case_ref=ref), headers=who.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _screen(client: TestClient, who: Account, case_id: int, answers: dict[str, Any]) -> int:
    made = client.post(f"/v1/cases/{case_id}/screenings", json={"answers": answers},
                       headers=who.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _plan(client: TestClient, who: Account, case_id: int, screening_id: int,
          **extra: object) -> dict[str, Any]:
    made = client.post("/v1/safety-plans", json={"case_id": case_id,
                       "screening_id": screening_id, **extra}, headers=who.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def _step_ids(plan: dict[str, Any]) -> list[str]:
    return [s["id"] for sec in plan["plan"]["sections"] for s in sec["steps"]]


def _if(who: Account, version: int) -> dict[str, str]:
    return {**who.headers, "If-Match": f'"{version}"'}


@pytest.fixture
def advocate(make: AccountFactory) -> Account:
    return make.account(Role.ADVOCATE)


@pytest.fixture
def plan(client: TestClient, advocate: Account) -> dict[str, Any]:
    case_id = _case(client, advocate)
    screening_id = _screen(client, advocate, case_id, PASSPORT_HELD)
    return _plan(client, advocate, case_id, screening_id, language="es",
                 priorities=["documents"], code_word="girasol")


def test_screening_scores_and_flags_emergency(client: TestClient, advocate: Account) -> None:
    case_id = _case(client, advocate)
    made = client.post(f"/v1/cases/{case_id}/screenings", json={"answers": DANGER},
                       headers=advocate.headers)
    assert made.status_code == 201
    body = made.json()
    assert body["emergency"] is True and body["danger_level"] == "severe"
    assert body["emergency_triggers"] == ["weapon_threat", "threatened_to_kill"]
    assert "answers" not in body


def test_bad_answers_and_languages_name_the_field(client: TestClient,
                                                  advocate: Account) -> None:
    case_id = _case(client, advocate)
    url = f"/v1/cases/{case_id}/screenings"

    def fields(response: Any) -> list[str]:
        assert response.status_code == 422, response.text
        return [e["field"] for e in response.json()["errors"]]

    post = lambda answers: client.post(url, json={"answers": answers},  # noqa: E731
                                       headers=advocate.headers)
    assert fields(post({"favourite_colour": True})) == ["answers.favourite_colour"]
    assert fields(post({"weapon_threat": "yes"})) == ["answers.weapon_threat"]
    assert fields(post({"weapon_threat": 1})) == ["answers.weapon_threat"]
    assert fields(post({"age": "16"})) == ["answers.age"]
    assert fields(post({"age": 130})) == ["answers.age"]
    screening_id = _screen(client, advocate, case_id, PASSPORT_HELD)
    plan_body = {"case_id": case_id, "screening_id": screening_id, "language": "tlh"}
    assert fields(client.post("/v1/safety-plans", json=plan_body,
                              headers=advocate.headers)) == ["language"]
    fallback = client.post("/v1/safety-plans", json={**plan_body,
                           "allow_language_fallback": True}, headers=advocate.headers)
    assert fallback.status_code == 201 and fallback.json()["language"] == "en"
    assert fields(client.post("/v1/safety-plans", json={**plan_body, "language": "en",
                              "priorities": ["nonsense"]},
                              headers=advocate.headers)) == ["priorities.0"]
    assert fields(client.post("/v1/safety-plans", json={**plan_body, "language": "en",
                              "screening_id": 999_999},
                              headers=advocate.headers)) == ["screening_id"]
    plan_id = fallback.json()["id"]
    assert fields(client.get(f"/v1/safety-plans/{plan_id}/render", params={
        "format": "txt", "language": "tlh"}, headers=advocate.headers)) == ["language"]
    assert fields(client.get(f"/v1/safety-plans/{plan_id}/render", params={
        "format": "docx"}, headers=advocate.headers)) == ["format"]
    ok = client.get(f"/v1/safety-plans/{plan_id}/render", params={
        "format": "txt", "language": "tlh", "allow_language_fallback": True},
        headers=advocate.headers)
    assert ok.status_code == 200


def test_plan_json_in_the_survivors_language(client: TestClient, advocate: Account,
                                             plan: dict[str, Any]) -> None:
    assert plan["version"] == 1 and plan["language"] == "es"
    sections = [s["id"] for s in plan["plan"]["sections"]]
    assert sections[0] == "documents"  # the survivor's own first priority
    assert "documents.passport" in _step_ids(plan)
    got = client.get(f"/v1/safety-plans/{plan['id']}", headers=advocate.headers)
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    assert got.headers["Cache-Control"] == "no-store"
    assert got.json()["plan"] == plan["plan"]
    english = client.get(f"/v1/safety-plans/{plan['id']}", params={"language": "en"},
                         headers=advocate.headers).json()
    assert english["plan"]["language"] == "en"
    assert english["plan"]["title"] != plan["plan"]["title"]


def test_renderings_through_http(client: TestClient, advocate: Account,
                                 plan: dict[str, Any]) -> None:
    url = f"/v1/safety-plans/{plan['id']}/render"
    html = client.get(url, params={"format": "html"}, headers=advocate.headers)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<html" in html.text.lower()
    # The API's render sends the web page's protections too (issue 17).
    for response in (html, client.get(url, params={"format": "pdf"}, headers=advocate.headers)):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "script-src" not in policy
    txt = client.get(url, params={"format": "txt"}, headers=advocate.headers)
    assert txt.headers["content-type"].startswith("text/plain")
    pdf = client.get(url, params={"format": "pdf", "language": "en"}, headers=advocate.headers)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    english_txt = client.get(url, params={"format": "txt", "language": "en"},
                             headers=advocate.headers).text
    passport_line = next(line for line in english_txt.splitlines() if "passport" in line)
    assert "passport" in text.lower() and passport_line.split("]")[0].strip("* [") in text
    discreet = client.get(url, params={"format": "pdf", "discreet": True, "language": "en"},
                          headers=advocate.headers)
    first_page = PdfReader(io.BytesIO(discreet.content)).pages[0].extract_text()
    assert "Hotline" not in first_page and "notes.pdf" in discreet.headers[
        "content-disposition"]
    sms = client.get(url, params={"format": "sms"}, headers=advocate.headers)
    assert sms.headers["content-type"].startswith("application/json")
    segments = sms.json()["segments"]
    assert segments and all(len(s["text"]) <= 160 for s in segments)
    assert len(segments) <= 6  # the short form by default
    longer = client.get(url, params={"format": "sms", "max_segments": 20},
                        headers=advocate.headers).json()["segments"]
    assert len(segments) <= len(longer) <= 20
    too_many = client.get(url, params={"format": "sms", "max_segments": 21},
                          headers=advocate.headers)
    assert too_many.status_code == 422


def test_emergency_plan_sms_leads_with_contacts(client: TestClient, advocate: Account) -> None:
    case_id = _case(client, advocate)
    made = _plan(client, advocate, case_id, _screen(client, advocate, case_id, DANGER))
    assert made["emergency"] is True
    assert _step_ids(made)[0] == "immediate.call_911"
    sms = client.get(f"/v1/safety-plans/{made['id']}/render", params={"format": "sms"},
                     headers=advocate.headers).json()["segments"]
    assert "911" in sms[0]["text"]


def test_edits_make_revisions_with_if_match(client: TestClient, advocate: Account,
                                            plan: dict[str, Any]) -> None:
    base = f"/v1/safety-plans/{plan['id']}"
    assert client.patch(f"{base}/steps/documents.passport", json={"text": "x"},
                        headers=advocate.headers).status_code == 428
    assert client.patch(f"{base}/steps/documents.passport", json={"text": "x"},
                        headers=_if(advocate, 9)).status_code == 412
    edited = client.patch(f"{base}/steps/documents.passport",
                          json={"text": "Ask the consulate for an emergency passport"},
                          headers=_if(advocate, 1))
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2 and edited.headers["ETag"] == '"2"'
    added = client.post(f"{base}/steps", json={"section": "money", "text": "Open a bank account",
                        "priority": 3}, headers=_if(advocate, 2))
    assert added.status_code == 201, added.text
    assert "custom.1" in _step_ids(added.json())
    removed = client.delete(f"{base}/steps/custom.1", headers=_if(advocate, 3))
    assert removed.status_code == 200 and "custom.1" not in _step_ids(removed.json())
    unknown = client.delete(f"{base}/steps/no.such.step", headers=_if(advocate, 4))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "step_id"

    revisions = client.get(f"{base}/revisions", headers=advocate.headers).json()
    assert [r["revision"] for r in revisions] == [1, 2, 3, 4]
    assert [r["action"] for r in revisions] == ["create", "edit_step", "add_step",
                                                "remove_step"]
    assert all(r["actor_account_id"] == advocate.id for r in revisions)
    assert revisions[1]["diff"]["changed"][0]["step_id"] == "documents.passport"
    assert revisions[1]["diff"]["changed"][0]["fields"] == ["text"]
    assert revisions[2]["counts"]["added"] == 1
    assert revisions[3]["diff"]["removed"][0]["id"] == "custom.1"


def test_emergency_contacts_cannot_be_removed(client: TestClient, advocate: Account) -> None:
    case_id = _case(client, advocate)
    made = _plan(client, advocate, case_id, _screen(client, advocate, case_id, DANGER))
    refused = client.delete(f"/v1/safety-plans/{made['id']}/steps/immediate.call_911",
                            headers=_if(advocate, 1))
    assert refused.status_code == 422


def test_new_screening_proposes_and_applies(client: TestClient, advocate: Account,
                                            plan: dict[str, Any]) -> None:
    base = f"/v1/safety-plans/{plan['id']}"
    client.patch(f"{base}/steps/documents.passport", json={"text": "Our own wording"},
                 headers=_if(advocate, 1))
    newer = _screen(client, advocate, plan["case_id"], {**PASSPORT_HELD, **DANGER})
    proposed = client.post(f"{base}/proposals", json={"screening_id": newer},
                           headers=advocate.headers)
    assert proposed.status_code == 201, proposed.text
    proposal = proposed.json()
    assert proposal["base_version"] == 2 and proposal["status"] == "open"
    assert "immediate.emergency_now" in proposal["step_ids"]
    assert "documents.passport" not in proposal["step_ids"]  # the advocate's edit is kept
    unchanged = client.get(base, headers=advocate.headers).json()
    assert unchanged["version"] == 2 and unchanged["emergency"] is False

    fetched = client.get(f"{base}/proposals/{proposal['id']}", headers=advocate.headers)
    assert fetched.json()["step_ids"] == proposal["step_ids"]
    stale = client.post(f"{base}/proposals/{proposal['id']}/apply", json={},
                        headers=_if(advocate, 1))
    assert stale.status_code == 412
    bad = client.post(f"{base}/proposals/{proposal['id']}/apply",
                      json={"accept": ["not.in.diff"]}, headers=_if(advocate, 2))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "accept"
    omitted = client.post(f"{base}/proposals/{proposal['id']}/apply", json={},
                          headers=_if(advocate, 2))
    assert omitted.status_code == 422 and omitted.json()["errors"][0]["field"] == "accept"
    assert "nothing was applied" in omitted.text
    assert client.get(base, headers=advocate.headers).json()["version"] == 2
    applied = client.post(f"{base}/proposals/{proposal['id']}/apply",
                          json={"accept": proposal["step_ids"]}, headers=_if(advocate, 2))
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["version"] == 3 and body["emergency"] is True
    assert body["screening_id"] == newer
    assert _step_ids(body)[0] == "immediate.call_911"
    assert client.post(f"{base}/proposals/{proposal['id']}/apply", json={},
                       headers=_if(advocate, 3)).status_code == 409
    revisions = client.get(f"{base}/revisions", headers=advocate.headers).json()
    assert revisions[-1]["action"] == "apply_proposal"


def test_a_follow_up_answering_one_question_erases_nothing(
        client: TestClient, advocate: Account, plan: dict[str, Any]) -> None:
    base = f"/v1/safety-plans/{plan['id']}"
    follow_up = _screen(client, advocate, plan["case_id"], {"needs_medical": True})
    proposal = client.post(f"{base}/proposals", json={"screening_id": follow_up},
                           headers=advocate.headers).json()
    assert proposal["diff"]["removed"] == []
    applied = client.post(f"{base}/proposals/{proposal['id']}/apply",
                          json={"accept": proposal["step_ids"], "accept_header": False},
                          headers=_if(advocate, 1))
    assert applied.status_code == 200, applied.text
    assert set(_step_ids(plan)) <= set(_step_ids(applied.json()))


def test_spanish_wording_follows_the_stated_gender(client: TestClient,
                                                  advocate: Account) -> None:
    case_id = _case(client, advocate)
    screening_id = _screen(client, advocate, case_id, PASSPORT_HELD)
    texts = {}
    for gender in ("female", None, "nonbinary"):
        made = client.post("/v1/safety-plans", json={
            "case_id": case_id, "screening_id": screening_id, "language": "es",
            "gender": gender}, headers=advocate.headers)
        assert made.status_code == 201, made.text
        texts[gender] = str(made.json()["plan"])
    assert "acompañarla" in texts["female"] and "acompañarle" in texts["nonbinary"]
    # Omitted, the gender is the case's first household member's (a woman here).
    assert "acompañarla" in texts[None]
    bad = client.post("/v1/safety-plans", json={
        "case_id": case_id, "screening_id": screening_id, "gender": "f"},
        headers=advocate.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "gender"


def test_partial_acceptance_and_stale_proposals(client: TestClient, advocate: Account,
                                                plan: dict[str, Any]) -> None:
    base = f"/v1/safety-plans/{plan['id']}"
    newer = _screen(client, advocate, plan["case_id"], {**PASSPORT_HELD, **DANGER})
    first = client.post(f"{base}/proposals", json={"screening_id": newer},
                        headers=advocate.headers).json()
    second = client.post(f"{base}/proposals", json={"screening_id": newer},
                         headers=advocate.headers).json()
    pick = [i for i in first["step_ids"] if i.startswith("immediate.")][:1]
    applied = client.post(f"{base}/proposals/{first['id']}/apply",
                          json={"accept": pick, "accept_header": False},
                          headers=_if(advocate, 1))
    assert applied.status_code == 200, applied.text
    assert pick[0] in _step_ids(applied.json())
    assert applied.json()["screening_id"] == plan["screening_id"]
    assert client.post(f"{base}/proposals/{second['id']}/apply", json={},
                       headers=_if(advocate, 2)).status_code == 409
    other_case = _case(client, advocate, "C-9")
    foreign = _screen(client, advocate, other_case, DANGER)
    wrong = client.post(f"{base}/proposals", json={"screening_id": foreign},
                        headers=advocate.headers)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "screening_id"


def test_privacy_404_and_audited_reads(client: TestClient, make: AccountFactory,
                                       advocate: Account, plan: dict[str, Any],
                                       admin: Account) -> None:
    outsider = make.account(Role.CASE_MANAGER, agency="Another Hotline")
    colleague = make.account(Role.CASE_MANAGER)
    base = f"/v1/safety-plans/{plan['id']}"
    for url in (base, f"{base}/revisions", f"{base}/render?format=pdf"):
        assert client.get(url, headers=outsider.headers).status_code == 404
        assert client.get(url, headers=colleague.headers).status_code == 200
        assert client.get(url, headers=admin.headers).status_code == 200
    assert client.patch(f"{base}/steps/documents.passport", json={"text": "x"},
                        headers=_if(outsider, 1)).status_code == 404
    assert client.post(f"/v1/cases/{plan['case_id']}/screenings",
                       json={"answers": {}}, headers=outsider.headers).status_code == 404
    assert client.post("/v1/safety-plans", json={"case_id": plan["case_id"],
                       "screening_id": plan["screening_id"]},
                       headers=outsider.headers).status_code == 404
    assert client.post(f"{base}/proposals", json={"screening_id": plan["screening_id"]},
                       headers=outsider.headers).status_code == 404
    listed = client.get(f"/v1/cases/{plan['case_id']}/safety-plans", headers=colleague.headers)
    assert [p["id"] for p in listed.json()] == [plan["id"]]
    assert "plan" not in listed.json()[0]
    assert client.get(f"/v1/cases/{plan['case_id']}/safety-plans",
                      headers=outsider.headers).status_code == 404
    rows = client.get("/v1/audit", params={"object_type": "safety_plan",
                      "object_id": str(plan["id"])}, headers=admin.headers).json()
    actions = [r["action"] for r in rows]
    assert actions.count("safety_plan.read") == 2
    assert actions.count("safety_plan.render") == 2
    assert actions.count("safety_plan.read_revisions") == 2
    assert "safety_plan.create" in actions
    assert all(r["purpose"] == "safety_planning" for r in rows)
    assert "girasol" not in str(rows) and "passport" not in str(rows)
