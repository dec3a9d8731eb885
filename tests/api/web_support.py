"""Helpers for the web page tests: set a password, sign in through the form, read the CSRF."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.deps import Services
from core import web_auth
from core.principal import SYSTEM

PASSWORD = "correct horse battery"


def set_password(services: Services, name: str, password: str = PASSWORD) -> None:
    with services.db.write_session() as session:
        web_auth.set_password(session, actor=SYSTEM, name=name, password=password)


def sign_in(client: TestClient, services: Services, name: str, *,
            password: str = PASSWORD, next_page: str = "/web/") -> str:
    """Sign in through the real form; returns the session's CSRF token."""
    set_password(services, name, password)
    form = client.get("/web/sign-in")
    assert form.status_code == 200
    pre = client.cookies.get("hw_signin")
    assert pre
    done = client.post("/web/sign-in", data={"name": name, "password": password,
                                             "csrf_token": pre, "next": next_page},
                       follow_redirects=False)
    assert done.status_code == 303, done.text
    return csrf_of(client.get(next_page).text)


def csrf_of(html: str) -> str:
    found = re.search(r'data-csrf="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)
