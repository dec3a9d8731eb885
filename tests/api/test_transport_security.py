"""HTTPS as the browser sees it: behind a TLS proxy the session cookie is Secure and HSTS is
sent, and a client cannot claim HTTPS by sending the proxy's headers itself (issue 17)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_KEY
from tests.support import served

pytestmark = pytest.mark.servers  # the multi-process tier

HTTPS_VIA_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def test_hsts_only_over_https(services: object, client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/healthz").headers
    with TestClient(client.app, base_url="https://testserver") as secure:
        sent = secure.get("/healthz").headers["strict-transport-security"]
    assert sent.startswith("max-age=31536000")


def _sign_in_cookie(base: str) -> tuple[str, str | None]:
    page = httpx.get(f"{base}/web/sign-in", headers=HTTPS_VIA_PROXY, timeout=60)
    assert page.status_code == 200, page.text
    return page.headers["set-cookie"], page.headers.get("strict-transport-security")


def test_behind_a_trusted_proxy_cookies_are_secure(database_url: str, tmp_path: Path) -> None:
    trusted = ["--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]
    with served(database_url, TEST_KEY, tmp_path, workers=2, args=trusted) as base:
        cookie, hsts = _sign_in_cookie(base)
    assert "secure" in cookie.lower() and hsts is not None
    # Without --proxy-headers the same headers are a client's claim, and are not believed.
    with served(database_url, TEST_KEY, tmp_path) as base:
        cookie, hsts = _sign_in_cookie(base)
    assert "secure" not in cookie.lower() and hsts is None
