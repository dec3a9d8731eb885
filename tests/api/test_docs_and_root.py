"""A newcomer's first clicks: `/` leads to sign-in, and the API docs work with no network."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.api.web_support import sign_in
from tests.support import AccountFactory


def test_root_leads_to_sign_in_or_the_pages(client: TestClient, services: Services,
                                            make: AccountFactory) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/web/sign-in"
    assert "Sign in" in client.get("/").text
    advocate = make.account(Role.ADVOCATE)
    sign_in(client, services, advocate.name, next_page="/web/cases")
    response = client.get("/", follow_redirects=False)
    assert response.headers["location"] == "/web/"
    assert client.get("/").url.path == "/web/cases"


def test_docs_pages_load_every_asset_from_the_app(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        # Nothing fetched from elsewhere: a CDN is unreachable offline.
        assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", html.text), page
        assets = re.findall(r"""(?:src|href)=["']?(/[^"'\s>]+)""", html.text)
        assert assets, page
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
    swagger = client.get("/docs").text
    assert "swagger-ui-bundle.js" in swagger and "/openapi.json" in swagger
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_static_assets_may_be_cached_but_data_may_not(client: TestClient) -> None:
    # One middleware marks every answer no-store except code and styles (api/observability.py).
    assert client.get("/healthz").headers["cache-control"] == "no-store"
    assert client.get("/openapi.json").headers["cache-control"] == "no-store"
    asset = client.get("/docs/assets/swagger-ui.css")
    assert asset.status_code == 200
    assert asset.headers.get("cache-control") != "no-store"
