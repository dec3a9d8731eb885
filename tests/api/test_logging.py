"""Log lines are JSON with the route template, and never carry tokens, bodies or raw paths."""

from __future__ import annotations

import json
import logging

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
    client.get("/v1/me", headers={**admin.headers, "X-Request-ID": "req-abcdef12"})
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "homeward.access"]
    text = "\n".join(lines)
    assert "/v1/accounts/{account_id}" in text
    assert "424242" not in text
    assert "canary-zq81" not in text
    assert admin.token not in text
    assert "req-abcdef12" in text
    for line in lines:
        parsed = json.loads(line)
        assert {"request_id", "route", "status", "latency_ms", "method"} <= parsed.keys()
