"""The advocate's plan page offers a copy in any shipped language, discreet or not, as PDF,
printable page, text or SMS of a chosen length, and shows how far the wording is trusted;
the plan's Spanish agrees with the survivor's gender taken from the case."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from pypdf import PdfReader

from api.deps import Services
from core.models import Role
from tests.api.test_web_pages import _case
from tests.api.web_support import sign_in
from tests.support import AccountFactory


def _plan_url(client: TestClient, services: Services, make: AccountFactory,
              language: str) -> str:
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/cases")
    case_url = _case(client, token)  # one member, "29F": a woman
    made = client.post(f"{case_url}/plan", data={
        "csrf_token": token, "q_weapon_threat": "yes", "q_documents_held": "yes",
        "language": language}, follow_redirects=False)
    assert made.status_code == 303, made.text
    return str(made.headers["location"])


def test_the_plan_page_offers_languages_discreet_and_sms_length(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    plan_url = _plan_url(client, services, make, "es")
    page = client.get(plan_url).text
    status = re.search(r'<p id="translation-status">(.*?)</p>', page, re.S)
    assert status and "draft" in status.group(1) and "Spanish" in status.group(1)
    copy_form = page[page.index('id="copy-form"'):page.index('id="sms-form"')]
    offered = set(re.findall(r'<option value="([a-z]{2})"', copy_form))
    assert {"en", "es", "ar", "zh", "th", "hi", "ko", "vi", "tl", "ht", "pt", "ru", "fr"} <= offered
    assert 'name="discreet"' in copy_form and 'name="format"' in copy_form
    assert "English: source language" in copy_form and "Arabic: draft" in copy_form
    sms_form = page[page.index('id="sms-form"'):]
    assert 'name="max_segments"' in sms_form and 'name="language"' in sms_form

    # The gender comes from the case ("29F"): the Spanish wording agrees with a woman.
    assert "controlarla" in page

    # A discreet Arabic PDF copy, through the page's form.
    pdf = client.get(f"{plan_url}/render", params={"format": "pdf", "language": "ar",
                                                   "discreet": "true"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    assert "ملاحظاتي" in pages[0].extract_text()  # the discreet title, "My notes"
    assert "machine translation" in " ".join(pages[1].extract_text().split())

    sms = client.get(f"{plan_url.replace('/render', '')}/sms",
                     params={"language": "fr", "max_segments": "3", "discreet": "true"})
    assert sms.status_code == 200
    assert "Vos notes" in sms.text and 'name="language" value="fr"' in sms.text
