"""Log lines are JSON with the route template, and never carry tokens, bodies or raw paths."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from api.observability import JsonFormatter
from tests.support import Account


def test_formatter_writes_one_json_object() -> None:
    record = logging.makeLogRecord({"msg": "request", "levelname": "INFO", "name": "x",
                                    "route": "/v1/me", "status": 200})
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/v1/me" and line["status"] == 200 and line["message"] == "request"


def test_access_log_has_template_not_path_and_no_secrets(
    client: TestClient, admin: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="homeward.access")
    secret_body = {"name": "canary-zq81", "role": "advocate", "agency_id": 1}
    client.post("/v1/accounts", json=secret_body, headers=admin.headers)
    client.get("/v1/accounts/424242", headers=admin.headers)
    kept = "0123456789abcdef0123456789abcdef"
    client.get("/v1/me", headers={**admin.headers, "X-Request-ID": kept})
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "homeward.access"]
    text = "\n".join(lines)
    assert "/v1/accounts/{account_id}" in text
    assert "424242" not in text
    assert "canary-zq81" not in text
    assert admin.token not in text
    assert kept in text
    for line in lines:
        parsed = json.loads(line)
        assert {"request_id", "route", "status", "latency_ms", "method"} <= parsed.keys()


@pytest.mark.parametrize("sent", ["req-abcdef12", "attacker says hello", "<script>x</script>",
                                  "0123456789ABCDEF0123456789ABCDEF", "a" * 33, ""])
def test_a_request_id_in_any_other_form_is_replaced_not_logged_or_audited(
        client: TestClient, admin: Account, caplog: pytest.LogCaptureFixture,
        sent: str) -> None:
    """Issue 17: a client's X-Request-ID was logged and stored in audit rows verbatim, even
    unauthenticated; only the server's own form (32 hex digits, or a UUID) is kept."""
    caplog.set_level(logging.INFO, logger="homeward.access")
    anonymous = client.get("/v1/me", headers={"X-Request-ID": sent})
    made = client.post("/v1/agencies", json={"name": f"Agency {len(sent)}", "kind": "hotline"},
                       headers={**admin.headers, "X-Request-ID": sent})
    assert made.status_code == 201, made.text
    for response in (anonymous, made):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    logged = [json.loads(JsonFormatter().format(r))["request_id"] for r in caplog.records
              if r.name == "homeward.access"]
    trail = client.get("/v1/audit", params={"object_type": "agency",
                                            "object_id": str(made.json()["id"])},
                       headers=admin.headers).json()
    stored = {row["request_id"] for row in trail}
    assert stored == {made.headers["x-request-id"]}
    if sent:
        assert sent not in logged and sent not in stored

