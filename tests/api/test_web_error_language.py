"""Field errors in the page's language: pydantic's keyed on their type and ctx, validators' on
their `RuleBroken` code, domain errors on their problem code, the pages' own as msgids; an
untranslated one is shown in English, marked so (never blank); the JSON API stays English."""

from __future__ import annotations

import ast
import html
import re
import string
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import ValidationError
from pydantic_core import PydanticKnownError

from api.deps import Services
from api.web import common, wording
from core.errors import InvalidInput
from core.models import Role
from logistics.cases.models import CaseCreate
from logistics.errors import HoldNotActive
from tests.api.test_web_cases import FULL, _field_error
from tests.api.test_web_travel_holds import _case, _denver_shelter, _form, _notice
from tests.api.web_support import sign_in
from tests.support import Account, AccountFactory

ROOT = Path(__file__).resolve().parents[2]
SPANISH = wording.table("es", common.po_path("es"))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _phrases_in_web_code() -> set[str]:
    """Every English message the pages raise: FormError((field, "...")) and Phrase("...")."""
    found: set[str] = set()
    for path in (ROOT / "api" / "web").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name | ast.Attribute)):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if name == "Phrase" and node.args and isinstance(node.args[0], ast.Constant):
                found.add(str(node.args[0].value))
            if name == "FormError" and node.args and isinstance(node.args[0], ast.List):
                for item in node.args[0].elts:
                    if (isinstance(item, ast.Tuple) and len(item.elts) == 2
                            and isinstance(item.elts[1], ast.Constant)):
                        found.add(str(item.elts[1].value))
    return found


def test_every_page_message_and_rule_code_has_spanish() -> None:
    own = _phrases_in_web_code()
    assert len(own) > 15
    assert sorted(m for m in own if ("", m) not in SPANISH) == []
    codes = set()
    for path in [*ROOT.glob("core/*.py"), *ROOT.glob("logistics/**/*.py"),
                 *ROOT.glob("network/**/*.py"), *ROOT.glob("safety_plans/**/*.py")]:
        codes |= set(re.findall(r'RuleBroken\(\s*"([a-z0-9-]+)"', path.read_text()))
    assert {"lat-lon-pair", "state-code", "language-code"} <= codes
    rules = {ctx.removeprefix("rule:") for ctx, _ in SPANISH if ctx.startswith("rule:")}
    assert sorted(codes - rules) == []


def test_pydantic_entries_are_pydantics_own_templates_with_its_placeholders() -> None:
    entries = {ctx: (msgid, text) for (ctx, msgid), text in SPANISH.items()
               if ctx.startswith("pydantic:")}
    assert len(entries) > 20
    for ctx, (msgid, text) in entries.items():
        kind = ctx.removeprefix("pydantic:")
        needed: dict[str, object] = {f: "x" if f in ("pattern", "expected", "field_type") else 1
                                     for f in _fields(msgid) if f != "expected_plural"}
        assert PydanticKnownError(kind, needed or None).message_template == msgid  # type: ignore[arg-type]
        assert _fields(text) <= _fields(msgid), ctx


def test_a_validation_error_is_said_by_its_type_and_ctx_and_english_is_pydantics() -> None:
    try:
        CaseCreate.model_validate({"case_ref": "x", "trafficking_type": "sex", "urgency": 9,
                                   "household": [{"age": 30, "gender": "female"}],
                                   "location": {"lat": 1.0},
                                   "exclusions": {"states": ["TXX"]}})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        said = dict(wording.from_validation(exc))
    english, spanish = common.sayer("en"), common.sayer("es")
    for err in errors:
        where = ".".join(str(p) for p in err["loc"])
        assert html.unescape(str(english(said[where]))) == err["msg"].removeprefix(
            "Value error, ")
    assert str(spanish(said["urgency"])) == "Debe ser menor o igual que 5"
    assert said["urgency"].context == "pydantic:less_than_equal"
    assert str(spanish(said["location"])) == ("indique la latitud y la longitud, o ninguna "
                                              "de las dos")
    assert "códigos de dos letras" in html.unescape(str(spanish(said["exclusions.states"])))


def test_an_untranslated_message_is_english_marked_so_never_blank() -> None:
    spanish = common.sayer("es")
    unknown = wording.Phrase("Input should be a teapot", {}, "pydantic:teapot")
    assert str(spanish(unknown)) == '<span lang="en">Input should be a teapot</span>'
    generic = wording.from_domain(InvalidInput("notes", "too <long>"))
    assert str(spanish(generic)) == '<span lang="en">too &lt;long&gt;</span>'
    closed = wording.from_domain(HoldNotActive("hold 4 is released, not active"))
    assert str(spanish(closed)) == "Esta reserva ya no está activa."
    assert str(common.sayer("en")(closed)) == "hold 4 is released, not active"


def test_the_spanish_intake_page_says_the_apis_errors_in_spanish(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/cases")
    client.cookies.set("hw_lang", "es")
    bad = {"members": "29X", "exclusion_points": "38.9, -77.0", "urgency": "9",
           "lat": "38.9", "lon": ""}
    page = client.post("/web/cases", data={"csrf_token": token, **FULL, **bad})
    assert page.status_code == 422 and '<html lang="es"' in page.text
    assert "como edad y F, M, T o N" in _field_error(page.text, "new-case", "members")
    assert "latitud, longitud, radio en km" in _field_error(page.text, "new-case",
                                                            "exclusion_points")
    # What the API's model judges, in Spanish by the error's type and rule code.
    judged = client.post("/web/cases", data={
        "csrf_token": token, **FULL, "urgency": "9", "exclusion_points": "38.9, -77.0, 0",
        "exclusion_states": "TXX", "lon": ""}).text
    assert _field_error(judged, "new-case", "urgency") == "Debe ser menor o igual que 5"
    assert _field_error(judged, "new-case", "exclusion_points") == "Debe ser mayor que 0"
    assert "códigos de dos letras" in _field_error(judged, "new-case", "exclusion_states")
    assert "Input should" not in judged and "Value error" not in judged
    # The JSON API answers the same input in English, whatever the browser's language.
    api = client.post("/v1/cases", headers={**dict(advocate.headers), "Accept-Language": "es"},
                      json={"case_ref": "W-9", "household": [{"age": 30, "gender": "female"}],
                            "trafficking_type": "sex", "urgency": 9,
                            "location": {"lat": 38.9, "lon": -77.0}}).json()
    assert api["errors"][0]["message"] == "Input should be less than or equal to 5"


def test_the_spanish_rescue_csv_lists_each_rows_errors_in_spanish(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/rescue")
    client.cookies.set("hw_lang", "es")
    template = client.get("/web/rescue/template.csv").text
    rows = template + "R-3,30X,38.9,-77.0,,,en,no,,,,\nR-4,30F,38.9,-77.0,,,en,no,,38.9,-77.0,-1\n"
    refused = client.post("/web/rescue", data={"csrf_token": token, "households": rows})
    listed = html.unescape(refused.text.split('id="row-errors"')[1].split("</ul>")[0])
    assert refused.status_code == 422
    assert "línea 4: members</strong>: escriba cada persona como edad" in listed
    assert "línea 5: exclusions.points.0.radius_km</strong>: Debe ser mayor que 0" in listed


def test_the_spanish_travel_form_and_holds_say_their_errors_in_spanish(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    manager = make.account(Role.CASE_MANAGER)
    token = sign_in(client, services, manager.name, next_page="/web/travel")
    client.cookies.set("hw_lang", "es")
    case_id = _case(client, manager)
    bad = client.post("/web/travel/search", data=_form(token, case_id, avoid_points="41, x"))
    assert bad.status_code == 422
    assert 'avoid_points: línea 1: escriba "lat, lon, radio en km"' in _notice(bad.text)
    unknown = client.post("/web/travel/search", data=_form(token, case_id, from_city="Nowhere"))
    assert "from: lugar desconocido" in _notice(unknown.text)
    # A domain error (a hold closed twice), by its problem code.
    shelter_id = _denver_shelter(client, admin, make)
    hold = client.post(f"/v1/shelters/{shelter_id}/holds", headers=manager.headers, json={
        "bed_type": "adult_female", "beds": 1, "case_ref": "H-1", "ttl_minutes": 60}).json()
    assert client.post(f"/web/holds/mine/{hold['id']}/release",
                       data={"csrf_token": token}).status_code == 200
    again = client.post(f"/web/holds/mine/{hold['id']}/release", data={"csrf_token": token})
    assert again.status_code == 409 and _notice(again.text) == "Esta reserva ya no está activa."
    api = client.delete(f"/v1/holds/{hold['id']}", headers=manager.headers)
    assert api.status_code == 409 and "not active" in api.json()["detail"]
